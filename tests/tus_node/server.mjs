// The official tus Node server (@tus/server + @tus/file-store) as an agency would run it,
// with the SHA-256 check in the finish hook: @tus/server has no checksum extension, so the
// device sends no per-chunk checksums and the whole file is checked once, on finish.
//
// node server.mjs PORT STORE_DIR, run from a folder whose node_modules holds @tus/* (ES modules
// ignore NODE_PATH, so the test copies this file next to its npm cache).
// Prints "listening on PORT" once it accepts connections; one line per upload on finish.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import path from "node:path";
import { Server } from "@tus/server";
import { FileStore } from "@tus/file-store";

const [port, directory] = [Number(process.argv[2]), process.argv[3]];
const datastore = new FileStore({ directory });
const HEX64 = /^[0-9a-f]{64}$/;

function sha256File(file) {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file).on("data", (d) => hash.update(d)).on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

const server = new Server({
  path: "/files",
  datastore,
  // Refused at creation: without a digest the finish hook could not vouch for the file.
  async onUploadCreate(req, upload) {
    if (!HEX64.test(upload.metadata?.sha256 ?? "")) {
      throw { status_code: 400, body: "metadata sha256 (64 hex digits) required\n" };
    }
    return {};
  },
  // @tus/server 2.x calls (req, upload); its README still shows (req, res, upload).
  async onUploadFinish(...args) {
    const upload = args[args.length - 1];
    const digest = await sha256File(path.join(directory, upload.id));
    if (digest !== upload.metadata.sha256) {
      // Removed so that the device's HEAD finds nothing (404) and it sends the file again,
      // instead of seeing offset == length and believing the upload done.
      await datastore.remove(upload.id);
      console.log(`refused ${upload.id} sha256 ${digest} != ${upload.metadata.sha256}`);
      throw { status_code: 460, body: "sha256 of the upload does not match its metadata\n" };
    }
    console.log(`finished ${upload.id} sha256 ${digest} ok`);
    return {};
  },
});

const http = server.listen({ host: "127.0.0.1", port }, () => {
  console.log(`listening on ${port}`);
});
process.on("SIGTERM", () => http.close(() => process.exit(0)));
