// Uploads the interop blobs to Azurite with the Azure SDK and prints their
// SAS URLs as JSON: read links valid for an hour, one already expired, and a
// write link to replace a blob. Azurite's well-known development account.
import { createHash } from "node:crypto";
import {
  BlobSASPermissions,
  BlobServiceClient,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
} from "@azure/storage-blob";

const account = "devstoreaccount1";
const key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const endpoint = `http://127.0.0.1:${process.env.AZURITE_PORT}/${account}`;
const credential = new StorageSharedKeyCredential(account, key);
const service = new BlobServiceClient(endpoint, credential);
const container = service.getContainerClient("exports");
await container.createIfNotExists();

// pattern is the content of a blob of size bytes, as the Go test makes it.
function pattern(size, version) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + (i >> 11) + version * 13) & 0xff;
  return b;
}

function sas(name, permissions, expiresOn) {
  const q = generateBlobSASQueryParameters(
    { containerName: "exports", blobName: name, permissions: BlobSASPermissions.parse(permissions),
      startsOn: new Date(Date.now() - 3600e3), expiresOn },
    credential,
  ).toString();
  return `${endpoint}/exports/${encodeURIComponent(name)}?${q}`;
}

const out = {};
for (const [name, size] of [["big.ifc", 20 << 20], ["small.ifc", 300000]]) {
  const data = pattern(size, 0);
  await container.getBlockBlobClient(name).upload(data, data.length, {
    blobHTTPHeaders: { blobContentMD5: createHash("md5").update(data).digest() },
  });
  out[name] = { size, read: sas(name, "r", new Date(Date.now() + 3600e3)), expired: sas(name, "r", new Date(Date.now() - 60e3)),
    write: sas(name, "cw", new Date(Date.now() + 3600e3)) };
}
// Uploads: blobs that do not exist yet, written through their "cw" SAS by
// the upload tests and read back through their "r" one.
for (const name of ["upload-single.json", "upload-blocks.bin"]) {
  out[name] = { size: 0, read: sas(name, "r", new Date(Date.now() + 3600e3)), expired: sas(name, "r", new Date(Date.now() - 60e3)),
    write: sas(name, "cw", new Date(Date.now() + 3600e3)) };
}
process.stdout.write(JSON.stringify(out));
