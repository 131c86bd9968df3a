/**
 * Serves the dashboard's files from one folder, with a strict Content-Security-Policy: scripts
 * and styles only from this origin, no inline code, so injected markup could not run anyway.
 */
import { createReadStream, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize, sep } from "node:path";

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".csv": "text/csv; charset=utf-8",
};

const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

export function createStaticHandler(root: string): (req: IncomingMessage, res: ServerResponse) => void {
  const base = normalize(root.endsWith(sep) ? root : root + sep);
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", ...securityHeaders }).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      res.writeHead(400, securityHeaders).end();
      return;
    }
    if (path === "/" || !extname(path)) path = "/index.html";
    const file = normalize(join(base, path));
    const type = types[extname(file)];
    if (!file.startsWith(base) || !type) {
      res
        .writeHead(404, { "content-type": "text/plain; charset=utf-8", ...securityHeaders })
        .end("not found\n");
      return;
    }
    let size: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw new Error("not a file");
      size = stat.size;
    } catch {
      res
        .writeHead(404, { "content-type": "text/plain; charset=utf-8", ...securityHeaders })
        .end("not found\n");
      return;
    }
    res.writeHead(200, {
      "content-type": type,
      "content-length": size,
      "cache-control": "no-cache",
      ...securityHeaders,
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  };
}
