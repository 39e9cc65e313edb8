// Runs an ONNX model in ONNX Runtime (the onnxruntime-node package) on inputs from .npy files
// and writes each output as a .npy file: the other side of Kiln's ONNX parity tests.
//
//   node ort_run.js MODEL.onnx OUT_DIR INPUT0.npy [INPUT1.npy ...]
//   node ort_run.js --batch JOBS.txt
// Inputs go to the model's inputs in order; outputs are written as OUT_DIR/output_<i>.npy.
// --batch runs many models in one process (node and ONNX Runtime start once): each line of
// JOBS.txt is MODEL.onnx, OUT_DIR and the inputs, separated by tabs; a model that fails writes
// its error to OUT_DIR/error.txt and the others still run.
// Exit status 0 on success, 1 with the error on standard error otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const TYPES = {
  '<f4': ['float32', Float32Array],
  '<f8': ['float64', Float64Array],
  '<i4': ['int32', Int32Array],
  '<i8': ['int64', BigInt64Array],
  '|u1': ['uint8', Uint8Array],
};

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = b[6];
  const headerLength = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const offset = major === 1 ? 10 : 12;
  const header = b.toString('latin1', offset, offset + headerLength);
  const descr = /'descr':\s*'([^']*)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  if (!(descr in TYPES)) throw new Error(`${file}: dtype ${descr} is not supported`);
  const [type, Array] = TYPES[descr];
  const bytes = b.subarray(offset + headerLength);
  const data = new Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return new ort.Tensor(type, data, shape);
}

function writeNpy(file, tensor) {
  const descr = Object.keys(TYPES).find((k) => TYPES[k][0] === tensor.type);
  if (!descr) throw new Error(`output type ${tensor.type} is not supported`);
  const shape = tensor.dims.length === 1 ? `${tensor.dims[0]},` : tensor.dims.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]));
}

async function runOne(model, outDir, inputs) {
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled' });
  if (inputs.length !== session.inputNames.length) {
    throw new Error(`the model takes ${session.inputNames.length} inputs (${session.inputNames}), got ${inputs.length}`);
  }
  const feeds = {};
  session.inputNames.forEach((name, i) => { feeds[name] = readNpy(inputs[i]); });
  const results = await session.run(feeds);
  session.outputNames.forEach((name, i) => writeNpy(path.join(outDir, `output_${i}.npy`), results[name]));
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--batch') {
    if (!args[1]) throw new Error('usage: node ort_run.js --batch JOBS.txt');
    for (const line of fs.readFileSync(args[1], 'utf8').split('\n').filter((l) => l.length > 0)) {
      const [model, outDir, ...inputs] = line.split('\t');
      try {
        await runOne(model, outDir, inputs);
      } catch (e) {
        fs.writeFileSync(path.join(outDir, 'error.txt'), String(e.message || e));
      }
    }
    return;
  }
  const [model, outDir, ...inputs] = args;
  if (!model || !outDir) throw new Error('usage: node ort_run.js MODEL.onnx OUT_DIR INPUT0.npy [INPUT1.npy ...]');
  await runOne(model, outDir, inputs);
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
