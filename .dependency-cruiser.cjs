// The layering as rules, checked by tests/unit/layering.test.ts inside `npm test` (and by hand with
// `npx depcruise activities common workflows workers scripts bench tests`).
// tsPreCompilationDeps: type-only imports count too: a circle of types is still a circle of concepts,
// and workflows/ may only see activities/ through the types proxyActivities needs (workflows/options.ts).

/** A group of activities/ and the groups it may import, the one-way order stages → dataset → store → game, kit underneath. */
const GROUPS = {
  kit: [],
  game: ['kit'],
  store: ['game', 'kit'],
  dataset: ['store', 'game', 'kit'],
  stages: ['dataset', 'store', 'game', 'kit'],
};
const ALL_GROUPS = Object.keys(GROUPS);

const groupRules = ALL_GROUPS.map((group) => {
  const forbidden = ALL_GROUPS.filter((other) => other !== group && !GROUPS[group].includes(other));
  return {
    name: `activities-${group}-order`,
    comment:
      `activities/${group} may import ${GROUPS[group].length ? GROUPS[group].join(', ') : 'no other group'}: ` +
      'the groups run one way, stages → dataset → store → game, kit underneath; the root (index.ts, deps.ts) sits above them all',
    severity: 'error',
    from: { path: `^activities/${group}/` },
    to: { path: [...forbidden.map((other) => `^activities/${other}/`), '^activities/[^/]+$'] },
  };
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import circle, type-only imports included',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'activities-not-to-workflows',
      comment: 'activities are called by workflows, never the other way round',
      severity: 'error',
      from: { path: '^activities/' },
      to: { path: '^workflows/' },
    },
    {
      name: 'workflows-not-to-activities',
      comment:
        'workflow code is bundled for the sandbox: it sees activities only as the group types in ' +
        'workflows/options.ts (proxyActivities); shared types live in common/',
      severity: 'error',
      from: { path: '^workflows/', pathNot: '^workflows/options\\.ts$' },
      to: { path: '^activities/' },
    },
    {
      name: 'workflow-options-only-activities-index',
      comment: 'workflows/options.ts imports the activity group types from activities/index.ts and nothing else of activities/',
      severity: 'error',
      from: { path: '^workflows/options\\.ts$' },
      to: { path: '^activities/', pathNot: '^activities/index\\.ts$' },
    },
    {
      name: 'workflow-options-activity-types-only',
      comment: 'workflows/options.ts imports activities/index.ts as types only: its values do I/O',
      severity: 'error',
      from: { path: '^workflows/options\\.ts$' },
      to: { path: '^activities/index\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    ...groupRules,
    {
      name: 'common-imports-no-layer-above',
      comment: 'common/ is shared by every layer, so it imports none of them',
      severity: 'error',
      from: { path: '^common/' },
      to: { path: '^(activities|workflows|workers|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|\\.nanoflux|\\.venv|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mjs', '.js', '.cjs', '.json'],
    },
  },
};
