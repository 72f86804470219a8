// gRPC and the CRI's services, loaded only by what serves or calls them:
// `require` at the first use, so the CLI's other commands never load the
// gRPC library (the CLI is one bundle, and an import there would run at
// every start).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as GrpcModule from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';
import { packageRoot } from '../package.js';

export type Grpc = typeof GrpcModule;
export type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';

/** The project's own definition of the CRI messages (names and field numbers of runtime.v1). */
export const CRI_PROTO = join(packageRoot, 'src', 'cri', 'proto', 'api.proto');

/**
 * How messages look in JavaScript: the CRI's field names in camelCase,
 * enums by name (as api.ts spells them), 64-bit integers as numbers (ns
 * timestamps lose nothing a clock shows), every field present.
 */
const LOADER_OPTIONS: ProtoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, arrays: true, objects: true };

export interface CriDefinitions {
  grpc: Grpc;
  runtimeService: GrpcModule.ServiceDefinition;
  imageService: GrpcModule.ServiceDefinition;
  /** For clients (tests, bench): constructors of the two services' stubs. */
  RuntimeServiceClient: GrpcModule.ServiceClientConstructor;
  ImageServiceClient: GrpcModule.ServiceClientConstructor;
}

let loaded: CriDefinitions | undefined;

export function loadCri(): CriDefinitions {
  if (loaded) return loaded;
  const load = createRequire(import.meta.url);
  const grpc = load('@grpc/grpc-js') as Grpc;
  const loader = load('@grpc/proto-loader') as typeof ProtoLoader;
  const definition = loader.loadSync(CRI_PROTO, LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { runtime: { v1: Record<string, GrpcModule.ServiceClientConstructor> } };
  const runtime = pkg.runtime.v1.RuntimeService as GrpcModule.ServiceClientConstructor;
  const image = pkg.runtime.v1.ImageService as GrpcModule.ServiceClientConstructor;
  loaded = { grpc, runtimeService: runtime.service, imageService: image.service, RuntimeServiceClient: runtime, ImageServiceClient: image };
  return loaded;
}
