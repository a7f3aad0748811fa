import { writeFile } from 'node:fs/promises';
import { configJsonSchemaText } from '../src/config/schema.js';

/** `npm run schema`: writes gcrsync.schema.json (for editors) from src/config/schema.ts. */
const file = new URL('../gcrsync.schema.json', import.meta.url);
await writeFile(file, configJsonSchemaText());
process.stdout.write(`wrote ${file.pathname}\n`);
