// Worker-thread entry for running a TypeScript worker module from the sources (tests, MFGSIM_SOURCE=1): Node's
// --import in a worker's execArgv does not install tsx's hooks there, so the worker registers tsx itself and
// then loads workerData.entry. The build (dist/) starts the compiled .js worker directly and never needs this.
import { workerData } from "node:worker_threads";

const { register } = await import("tsx/esm/api");
register();
await import(workerData.entry);
