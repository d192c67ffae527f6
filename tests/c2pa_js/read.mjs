// Reads a file's Content Credentials with c2pa-js (WebAssembly) and prints what it makes of
// them as one JSON object: {"state", "failures", "assertion"}.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { initSync, WasmReader } from "@contentauth/c2pa-wasm";

const require = createRequire(import.meta.url);
initSync({ module: readFileSync(require.resolve("@contentauth/c2pa-wasm/c2pa.wasm")) });
const bytes = new Uint8Array(readFileSync(process.argv[2]));
let out;
try {
  const reader = await WasmReader.fromBytes("video/mp4", bytes);
  const store = JSON.parse(reader.json());
  const manifest = store.manifests?.[store.active_manifest] ?? {};
  const mine = (manifest.assertions ?? []).find((a) => a.label === process.argv[3]);
  out = {
    state: store.validation_state ?? null,
    failures: (store.validation_results?.activeManifest?.failure ?? []).map((f) => f.code),
    assertion: mine?.data ?? null,
  };
} catch (e) {
  out = { state: null, error: String(e) };
}
console.log(JSON.stringify(out));
