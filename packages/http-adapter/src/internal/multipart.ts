/**
 * Streams the first file of a multipart/form-data body (busboy): the CSV never sits in memory
 * whole, and the size limit stops the upload as soon as it is crossed.
 */
import { PassThrough, Readable } from "node:stream";
import type { ReadableStream as NodeWebStream } from "node:stream/web";
import { isRunwardenError, rwError } from "@runwarden/core";
import busboy from "busboy";
import { tooLarge } from "./body.js";

export interface MultipartFile {
  file: Readable;
  /** Text fields sent before the file. */
  fields: Record<string, string>;
  filename: string;
}

const malformed = () =>
  rwError("RW_ERR_INPUT_MALFORMED", "malformed multipart/form-data body (cut off or broken framing)");

export function streamMultipartFile(
  request: Request,
  options: { limitBytes: number },
): Promise<MultipartFile> {
  const { limitBytes } = options;
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  // Multipart framing adds a little; anything far beyond the limit is refused before reading.
  if (Number.isFinite(declared) && declared > limitBytes + 64 * 1024)
    return Promise.reject(tooLarge(limitBytes));
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { "content-type": request.headers.get("content-type") ?? "" },
        limits: { files: 1, fields: 20, fieldSize: 1024, fileSize: limitBytes, parts: 30 },
      });
    } catch {
      reject(rwError("RW_ERR_INPUT_MALFORMED", "malformed multipart/form-data (no boundary)"));
      return;
    }
    const fields: Record<string, string> = {};
    let file: PassThrough | undefined;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    parser.on("field", (name, value) => {
      fields[name] = value;
    });
    parser.on("file", (_name, stream, info) => {
      if (settled) {
        stream.resume();
        return;
      }
      settled = true;
      // The reader sees busboy's file through a stream this module ends: a body cut off
      // mid-part (busboy's "Unexpected end of form") fails it as RW_ERR_INPUT_MALFORMED.
      file = new PassThrough();
      stream.on("limit", () => stream.destroy(tooLarge(limitBytes)));
      stream.on("error", (err) => file!.destroy(isRunwardenError(err) ? err : malformed()));
      stream.pipe(file);
      resolve({ file, fields, filename: info.filename ?? "upload.csv" });
    });
    parser.on("error", () => {
      if (file) file.destroy(malformed());
      else fail(malformed());
    });
    parser.on("close", () =>
      fail(
        rwError("RW_ERR_INPUT_INVALID", "the upload has no file", {
          details: { fields: [{ field: "file", message: "attach the CSV file" }] },
        }),
      ),
    );
    if (!request.body) {
      parser.end();
      return;
    }
    const body = Readable.fromWeb(request.body as unknown as NodeWebStream<Uint8Array>);
    body.on("error", (err) => {
      parser.destroy(err);
      const interrupted = rwError("RW_ERR_INPUT_MALFORMED", "the upload was interrupted");
      if (file) file.destroy(interrupted);
      else fail(interrupted);
    });
    body.pipe(parser);
  });
}
