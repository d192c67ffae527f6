// The official tus Node server (@tus/server) as an agency would run it, on a disk
// (@tus/file-store) or on S3 or a service speaking its API (@tus/s3-store), with the SHA-256
// check in the finish hook: @tus/server has no checksum extension, so the device sends no
// per-chunk checksums and the whole file is checked once, on finish, as the store reads it back.
//
//   node server.mjs PORT file DIRECTORY
//   node server.mjs PORT s3 BUCKET [ENDPOINT]
//
// S3 credentials and region come from the AWS SDK's usual sources (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_REGION, a profile or an instance role), never from this file;
// ENDPOINT is for services other than AWS (addressed path-style). Run from a folder whose
// node_modules holds the packages of package.json (ES modules ignore NODE_PATH, so the tests
// copy this file next to their npm install).
// Prints "listening on PORT" once it accepts connections; one line per upload on finish.
import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
import { Server } from "@tus/server";

const [port, kind, where, endpoint] = [Number(process.argv[2]), ...process.argv.slice(3)];
const HEX64 = /^[0-9a-f]{64}$/;

// The store, and how to delete a finished upload: S3Store.remove aborts the multipart upload,
// which S3 has already completed, and fails with "not found" before deleting anything.
// Each store's packages are loaded only when it is used.
async function open() {
  if (kind === "file") {
    const { FileStore } = await import("@tus/file-store");
    const store = new FileStore({ directory: where });
    return { store, discard: (id) => store.remove(id) };
  }
  if (kind === "s3") {
    const [{ S3 }, { S3Store }] = await Promise.all(
      [import("@aws-sdk/client-s3"), import("@tus/s3-store")]);
    const s3ClientConfig = endpoint ? { endpoint, forcePathStyle: true } : {};
    const store = new S3Store({
      partSize: 8 * 1024 * 1024,
      s3ClientConfig: { bucket: where, ...s3ClientConfig },
    });
    const s3 = new S3(s3ClientConfig);
    const discard = (id) => s3.deleteObjects({
      Bucket: where, Delete: { Objects: [{ Key: id }, { Key: `${id}.info` }] },
    });
    return { store, discard };
  }
  throw new Error(`store must be "file" or "s3", not ${JSON.stringify(kind)}`);
}

const { store, discard } = await open();

async function sha256(readable) {
  const hash = createHash("sha256");
  await pipeline(readable, async function* (chunks) {
    for await (const chunk of chunks) hash.update(chunk);
  });
  return hash.digest("hex");
}

const server = new Server({
  path: "/files",
  datastore: store,
  // Evidence is read from the store, never back through this server: an upload's URL does
  // not download it (the receipt URL the device asks for answers 404 too), and a finished
  // upload cannot be deleted through it.
  async onIncomingRequest(req) {
    if (req.method === "GET") throw { status_code: 404, body: "not found\n" };
  },
  disableTerminationForFinishedUploads: true,
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
    // Streamed from where the store put it (a file, or the S3 object), never held in memory.
    const digest = await sha256(await store.read(upload.id));
    if (digest !== upload.metadata.sha256) {
      // Removed so that the device's HEAD finds nothing (404) and it sends the file again,
      // instead of seeing offset == length and believing the upload done.
      console.log(`refused ${upload.id} sha256 ${digest} != ${upload.metadata.sha256}`);
      await discard(upload.id);
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
