/**
 * Layers point one way (npm run lint):
 *   launcher, workers, api  ->  workflows (types) and api/services  ->  activities  ->  ml, db, datasets, gpu,
 *   migrations  ->  common.
 * Nothing imports upward and nothing imports in a circle, type-only imports included (they still couple the layers).
 * Workflow determinism (what workflow files may import at run time) is ESLint's rule in eslint.config.mjs.
 */
const PRODUCT = '^(common|ml|datasets|db|gpu|migrations|activities|workflows|api|workers|launcher)/';

/** Folders each layer must not import from (everything at its own level or above it). */
const above = {
  common: ['ml', 'datasets', 'db', 'gpu', 'migrations', 'activities', 'workflows', 'api', 'workers', 'launcher'],
  ml: ['activities', 'workflows', 'api', 'workers', 'launcher', 'db', 'migrations'],
  datasets: ['ml', 'db', 'gpu', 'migrations', 'activities', 'workflows', 'api', 'workers', 'launcher'],
  db: ['ml', 'gpu', 'activities', 'workflows', 'api', 'workers', 'launcher'],
  gpu: ['db', 'migrations', 'activities', 'workflows', 'api', 'workers', 'launcher'],
  migrations: ['ml', 'datasets', 'gpu', 'activities', 'workflows', 'api', 'workers', 'launcher'],
  activities: ['workflows', 'api', 'workers', 'launcher'],
  workflows: ['activities', 'api', 'workers', 'launcher', 'ml', 'db', 'datasets', 'gpu', 'migrations'],
  api: ['workers', 'launcher'],
  workers: ['api', 'launcher'],
  launcher: ['api'],
};

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle (type-only imports count too): move the shared piece down a layer.',
      from: { path: PRODUCT },
      to: { circular: true },
    },
    ...Object.entries(above).map(([layer, banned]) => ({
      name: `layer-${layer}`,
      severity: 'error',
      comment: `${layer}/ must not import from ${banned.join(', ')} (layers point down; see .dependency-cruiser.cjs).`,
      from: { path: `^${layer}/` },
      to: { path: `^(${banned.join('|')})/`, dependencyTypesNot: ['type-only'].filter(() => layer === 'workflows') },
    })),
    {
      name: 'product-not-on-tests',
      severity: 'error',
      comment: 'Product code must not import tests or benchmarks.',
      from: { path: PRODUCT },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
