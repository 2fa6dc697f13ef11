// The API reference (npm run docs: TypeDoc over src/index.ts) is made from the TSDoc comments, so every option
// of explain() and evaluate() needs one: checked here on the types themselves, inherited options included.
import * as path from 'path';
import * as ts from 'typescript';
import { ROOT } from '../helpers/cli';

const ENTRY = path.join(ROOT, 'src', 'index.ts');
let program: ts.Program | null = null;

function undocumented(typeName: string): { options: string[]; missing: string[] } {
  program ??= ts.createProgram([ENTRY], { strict: true, noEmit: true, skipLibCheck: true, types: ['node'], esModuleInterop: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(ENTRY)!;
  const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).find((s) => s.name === typeName);
  if (!exported) throw new Error(`src/index.ts does not export ${typeName}`);
  const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const type = checker.getDeclaredTypeOfSymbol(target);
  const options = type.getProperties().map((p) => p.name);
  const missing = type.getProperties().filter((p) => ts.displayPartsToString(p.getDocumentationComment(checker)).trim() === '').map((p) => p.name);
  return { options, missing };
}

test.each([
  ['ExplainOptions', ['model', 'out', 'topK', 'methodOptions', 'jobs']],
  ['EvaluateOptions', ['model', 'boxes']],
  ['MethodOptions', ['batchSize', 'seed']],
])('every option in %s has a doc comment', (typeName, some) => {
  const { options, missing } = undocumented(typeName);
  expect(options).toEqual(expect.arrayContaining(some)); // really the options, inherited ones too
  expect(missing).toEqual([]);
});
