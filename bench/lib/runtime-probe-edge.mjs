// @edge-runtime/vm: evaluated as a script, leaves `edgeProbe` on the VM's global object; the
// section times its batches from outside.
export { batch, prepare } from "./runtime-probe.mjs";
