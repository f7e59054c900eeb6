import { join } from 'node:path';
import * as ts from 'typescript';

/**
 * Field names a Kubernetes object may have, taken from kubernetes-models' type declarations
 * (its validators check types, required fields and enums, but accept any unknown field, so a
 * misspelt `readinessprobe` or `securityContex` would pass them and be dropped by the API
 * server). The TypeScript compiler reads the models' interfaces once; `unknownFields` then walks
 * an object alongside its interface and names every key the interface does not declare. Maps
 * with free keys (labels, annotations, resource quantities, ConfigMap data) are not checked.
 */

/** `<apiVersion>/<kind>` → the kubernetes-models module and interface that declare it. */
export const MODEL_INTERFACES: Readonly<Record<string, readonly [string, string]>> = {
  'v1/Namespace': ['kubernetes-models/v1/Namespace', 'INamespace'],
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'IConfigMap'],
  'v1/Secret': ['kubernetes-models/v1/Secret', 'ISecret'],
  'v1/Service': ['kubernetes-models/v1/Service', 'IService'],
  'v1/PersistentVolumeClaim': ['kubernetes-models/v1/PersistentVolumeClaim', 'IPersistentVolumeClaim'],
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  'apps/v1/DaemonSet': ['kubernetes-models/apps/v1/DaemonSet', 'IDaemonSet'],
  'apps/v1/StatefulSet': ['kubernetes-models/apps/v1/StatefulSet', 'IStatefulSet'],
  'batch/v1/Job': ['kubernetes-models/batch/v1/Job', 'IJob'],
  'policy/v1/PodDisruptionBudget': ['kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'],
  'networking.k8s.io/v1/NetworkPolicy': ['kubernetes-models/networking.k8s.io/v1/NetworkPolicy', 'INetworkPolicy'],
};

export interface FieldChecker {
  /** Every `path: "key" is not a field of <Type>` in `obj`; an error when its kind is not in MODEL_INTERFACES. */
  unknownFields(obj: { apiVersion?: unknown; kind?: unknown }): string[];
}

export function createFieldChecker(root: string): FieldChecker {
  const entries = Object.entries(MODEL_INTERFACES);
  const fileName = join(root, '__k8s_field_types__.ts');
  const text = entries.map(([, [module, name]], i) => `import type { ${name} as T${i} } from '${module}';\nexport type K${i} = T${i};`).join('\n');
  const options: ts.CompilerOptions = { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, skipLibCheck: true, noEmit: true, types: [] };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, version, onError, create) => (name === fileName ? ts.createSourceFile(name, text, version) : getSourceFile(name, version, onError, create));
  host.fileExists = (name) => name === fileName || fileExists(name);
  host.readFile = (name) => (name === fileName ? text : readFile(name));
  const program = ts.createProgram([fileName], options, host);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(fileName)!;
  const missing = program.getSemanticDiagnostics(source);
  if (missing.length > 0) throw new Error(`kubernetes-models' types did not load: ${missing.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('; ')}`);
  const roots = new Map<string, ts.Type>();
  for (const statement of source.statements) {
    if (ts.isTypeAliasDeclaration(statement)) roots.set(entries[Number(statement.name.text.slice(1))][0], checker.getTypeAtLocation(statement.name));
  }

  const present = (type: ts.Type): ts.Type[] => (type.isUnion() ? type.types : [type]).filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));

  const walk = (value: unknown, type: ts.Type, path: string, problems: string[]): void => {
    const candidates = present(type);
    if (Array.isArray(value)) {
      const array = candidates.find((t) => checker.isArrayType(t));
      if (array) value.forEach((item, i) => walk(item, checker.getTypeArguments(array as ts.TypeReference)[0], `${path}[${i}]`, problems));
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const object = candidates.find((t) => t.flags & ts.TypeFlags.Object && !checker.isArrayType(t));
    if (!object || checker.getIndexInfoOfType(object, ts.IndexKind.String)) return;
    for (const [key, child] of Object.entries(value)) {
      const property = checker.getPropertyOfType(object, key);
      if (!property) problems.push(`${path || '(top level)'}: "${key}" is not a field of ${checker.typeToString(object)}`);
      else walk(child, checker.getTypeOfSymbol(property), path ? `${path}.${key}` : key, problems);
    }
  };

  return {
    unknownFields(obj) {
      const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
      const type = roots.get(key);
      if (!type) throw new Error(`no declared fields for ${key}`);
      const problems: string[] = [];
      walk(obj, type, '', problems);
      return problems;
    },
  };
}
