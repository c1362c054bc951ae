import * as g from './activities/judge/tools/genomics.js';
import * as m from './activities/judge/tools/medical.js';
import * as x from './activities/judge/tools/math.js';
import { toolPacks } from './activities/judge/tools/index.js';
const B='ATGGCCATTGTAATGGGCCGCTGAAAGGGTGCCCGATAG';
console.log(g.translate(B), g.translate(B,{toStop:true}), g.findOrfs(B,{minLength:5}));
console.log(g.reverseComplement('GATCGATGGGCCTATATAGGATCGAAAATCGC'), g.gcContent('GATCGATGGGCCTATATAGGATCGAAAATCGC'));
console.log(g.meltingTemperature('ACGTACGT'), g.meltingTemperature('ACGTACGTACGTACGTACGT'));
try { g.reverseComplement('ACGU'); } catch(e){console.log((e as Error).message)}
console.log(m.cockcroftGault({ageYears:60,weightKg:72,serumCreatinineMgDl:1,sex:'male'}), m.cockcroftGault({ageYears:45,weightKg:60,serumCreatinineMgDl:0.9,sex:'female'}));
console.log(m.ckdEpi2021({serumCreatinineMgDl:1,ageYears:50,sex:'male'}), m.ckdEpi2021({serumCreatinineMgDl:0.6,ageYears:60,sex:'female'}));
console.log(m.bsa({weightKg:80,heightCm:180,formula:'mosteller'}), m.bsa({weightKg:80,heightCm:180,formula:'dubois'}), m.bsa({weightKg:70,heightCm:175,formula:'mosteller'}));
console.log(m.bmi({weightKg:68,heightCm:165}));
for (const a of ['glucose','cholesterol','triglycerides','creatinine','urea'] as const) console.log(m.convertConcentration({value:a==='glucose'?100:a==='cholesterol'?200:a==='creatinine'?1:a==='urea'?14:150, from:'mg/dL', analyte:a}));
console.log(x.exactArithmetic('1/3 + 1/6'), x.exactArithmetic('1/6'), x.exactArithmetic('2^(1/2)'));
try { x.exactArithmetic('sqrt(2)'); } catch(e){console.log((e as Error).message)}
try { x.exactArithmetic('import({}, {})'); } catch(e){console.log((e as Error).message)}
console.log(x.checkEquation({equation:'x^2 - 5x + 6 = 0', variables:{x:3}}), x.checkEquation({equation:'x^2 - 5x + 6 = 0', variables:{x:4}}), x.checkEquation({equation:'0.1 + 0.2 = 0.3'}));
for (const [k,v] of Object.entries(toolPacks)) for (const t of v) console.log(k, t.name, JSON.stringify(t.parameters), await t.run({}), await t.run(null));
