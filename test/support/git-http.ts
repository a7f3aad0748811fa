import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';

const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

/**
 * A smart-HTTP git server (git http-backend behind a CGI bridge) that wants Basic credentials: the metadata remote
 * as GitHub serves it, so a URL with a token in it can really be cloned and pushed. It records every
 * Authorization it was sent.
 */
export async function gitHttpServer(root: string, user: string, token: string): Promise<{ url: (repo: string) => string; authorizations: string[]; stop(): Promise<void> }> {
  const authorizations: string[] = [];
  const expected = `Basic ${basic(user, token)}`;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://git');
    if (req.headers.authorization !== expected) {
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
      res.end();
      return;
    }
    authorizations.push(req.headers.authorization);
    const cgi = spawn('/usr/lib/git-core/git-http-backend', [], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        REMOTE_USER: user,
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-encoding'] && { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }),
        ...(req.headers['git-protocol'] && { GIT_PROTOCOL: String(req.headers['git-protocol']) }),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(cgi.stdin);
    // CGI answer: header lines, a blank line, then the body
    let head = Buffer.alloc(0);
    let sent = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (sent) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
      sent = true;
    });
    cgi.on('close', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    // a token alone is written as the user name (`https://TOKEN@github.com/…`)
    url: (repo) => `http://${token === '' ? user : `${user}:${token}`}@127.0.0.1:${port}/${repo}`,
    authorizations,
    stop: () => new Promise((resolve) => (server.close(() => resolve()), server.closeAllConnections())),
  };
}
