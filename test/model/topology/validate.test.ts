// Malformed functional topologies, each of which makes tfjs-layers' Container.fromConfig loop forever or crash, are
// refused before tfjs sees them: at once, in one line that starts with the model.json path and says which layer,
// which node and what was found. Checked on validateFunctionalTopology itself and through normalizeLayersTopology.
import { ModelError } from '../../../src/util/errors';
import { normalizeLayersTopology, validateFunctionalTopology } from '../../../src/model/topology';
import { J } from './fixtures';

const WHERE = '/models/broken/model.json';

/** input -> conv1 -> conv2 -> out, in Keras 2 form. */
function good(): J {
  const layer = (name: string, cls: string, inputs: string[]) => ({
    name,
    class_name: cls,
    config: { name, ...(cls === 'InputLayer' ? { batch_input_shape: [null, 8, 8, 3], dtype: 'float32' } : { filters: 2, kernel_size: [1, 1] }) },
    inbound_nodes: inputs.length ? [inputs.map((i) => [i, 0, 0, {}])] : [],
  });
  return {
    name: 'm',
    layers: [layer('input', 'InputLayer', []), layer('conv1', 'Conv2D', ['input']), layer('conv2', 'Conv2D', ['conv1']), layer('out', 'Conv2D', ['conv2'])],
    input_layers: [['input', 0, 0]],
    output_layers: [['out', 0, 0]],
  };
}

const find = (c: J, name: string) => c.layers.find((l: J) => l.name === name);

/**
 * Refused by validate and (unless `alone`) by normalize with the same one-line message; returns the message
 * without the path, and the slower of the times.
 */
function refused(edit: (c: J) => void, alone = false): { message: string; ms: number } {
  const config = good();
  edit(config);
  const messages: string[] = [];
  let ms = 0;
  const runs = [() => validateFunctionalTopology(config, WHERE)];
  if (!alone) runs.push(() => void normalizeLayersTopology({ class_name: 'Model', config, keras_version: '2.2.4' }, [], WHERE));
  for (const run of runs) {
    const t0 = performance.now();
    let err: unknown;
    try {
      run();
    } catch (e) {
      err = e;
    }
    ms = Math.max(ms, performance.now() - t0);
    expect(err).toBeInstanceOf(ModelError);
    messages.push((err as Error).message);
  }
  if (!alone) expect(messages[1]).toBe(messages[0]);
  expect(messages[0].startsWith(`${WHERE}: `)).toBe(true);
  expect(messages[0]).not.toContain('\n');
  return { message: messages[0].slice(WHERE.length + 2), ms };
}

test('the well-formed topology passes', () => {
  expect(() => validateFunctionalTopology(good(), WHERE)).not.toThrow();
});

test('a reference to a layer that is not in the model', () => {
  const r = refused((c) => (find(c, 'conv2').inbound_nodes = [[['conv9', 0, 0, {}]]]));
  expect(r.message).toBe("layer 'conv2': inbound node 0 refers to layer 'conv9', which is not in the model");
});

test('a node index out of range', () => {
  expect(refused((c) => (find(c, 'conv2').inbound_nodes[0][0][1] = 1)).message).toBe(
    "layer 'conv2': inbound node 0 refers to node 1 of layer 'conv1', which has 1 inbound node",
  );
  expect(refused((c) => (find(c, 'conv1').inbound_nodes[0][0][1] = 2)).message).toBe(
    "layer 'conv1': inbound node 0 refers to node 2 of InputLayer 'input', which has only node 0",
  );
  expect(refused((c) => (c.output_layers = [['out', 3, 0]])).message).toBe("output_layers[0] refers to node 3 of layer 'out', which has 1 inbound node");
});

test('a cycle', () => {
  const r = refused((c) => (find(c, 'conv1').inbound_nodes = [[['conv2', 0, 0, {}]]]));
  expect(r.message).toBe("layers 'conv1' -> 'conv2' -> 'conv1' form a cycle (each waits for the next one's output), so the model can never be built");
  expect(refused((c) => (find(c, 'conv2').inbound_nodes = [[['conv2', 0, 0, {}]]])).message).toMatch(/^layers 'conv2' -> 'conv2' form a cycle/);
});

test('a node that is not a list, and Keras 3 node data inside a Keras 2 list (catmood-cnn1-malformed)', () => {
  const keras3Call = { args: [{ class_name: '__keras_tensor__', config: { keras_history: ['input', 0, 0] } }], kwargs: {} };
  // validate alone names it; normalize recognises the Keras 3 call and translates it instead.
  expect(refused((c) => (find(c, 'conv1').inbound_nodes = [keras3Call]), true).message).toBe(
    "layer 'conv1': inbound node 0 is a Keras 3 {args, kwargs} object (Keras 3 node data in a Keras 2 topology), not a list of [layer name, node index, tensor index]",
  );
  const mixed = good();
  find(mixed, 'conv1').inbound_nodes = [keras3Call];
  const n = normalizeLayersTopology({ class_name: 'Model', config: mixed }, [], WHERE);
  expect(n.notes.keras3).toBe(true);
  expect(find(n.modelTopology.model_config.config, 'conv1').inbound_nodes).toEqual([[['input', 0, 0, {}]]]);
  expect(refused((c) => (find(c, 'conv1').inbound_nodes = [[[keras3Call]]])).message).toBe(
    "layer 'conv1': inbound node 0 holds an object where [layer name, node index, tensor index] was expected (Keras 3 node data inside a Keras 2 list)",
  );
  expect(refused((c) => (find(c, 'conv1').inbound_nodes = ['input'])).message).toBe(
    "layer 'conv1': inbound node 0 is the string 'input', not a list of [layer name, node index, tensor index]",
  );
  expect(refused((c) => (find(c, 'conv1').inbound_nodes = [['input', 0, 0, {}]])).message).toBe(
    "layer 'conv1': inbound node 0, input 0 holds the string 'input' where [layer name, node index, tensor index] was expected",
  );
  expect(refused((c) => (find(c, 'conv1').inbound_nodes = [[['input', -1, 0]]])).message).toBe(
    "layer 'conv1': inbound node 0 refers to node index number -1 of layer 'input'; expected a whole number >= 0",
  );
  expect(refused((c) => (find(c, 'conv1').inbound_nodes = [[]])).message).toBe("layer 'conv1': inbound node 0 is empty (a call without inputs)");
});

test('names: missing, duplicated, disagreeing with config.name; InputLayers; input and output lists', () => {
  expect(refused((c) => delete find(c, 'conv2').name).message).toBe('layer #2 has no name (found nothing)');
  expect(refused((c) => (find(c, 'conv2').name = 'conv1')).message).toBe("layer 'conv1': the name is used by layers #1 and #2; layer names must be unique");
  expect(refused((c) => (find(c, 'conv2').config.name = 'other')).message).toBe("layer 'conv2': its config names it 'other'; the two names must agree");
  expect(refused((c) => delete find(c, 'conv2').inbound_nodes).message).toBe("layer 'conv2': inbound_nodes is nothing, not a list");
  expect(refused((c) => (find(c, 'input').inbound_nodes = [[['conv1', 0, 0, {}]]])).message).toBe("layer 'input': an InputLayer cannot have inbound nodes (found 1)");
  expect(refused((c) => delete find(c, 'input').config.batch_input_shape).message).toBe("layer 'input': the InputLayer has no batch_input_shape");
  expect(refused((c) => (c.input_layers = [['conv1', 0, 0]])).message).toBe("input_layers[0] refers to 'conv1', which is a Conv2D, not an InputLayer");
  expect(refused((c) => (c.output_layers = ['out', 0, 0])).message).toBe('output_layers[0] is the string \'out\', not [layer name, node index, tensor index]');
  expect(refused((c) => (c.output_layers = [])).message).toBe('output_layers must be a non-empty list of [layer name, node index, tensor index] (found a list of 0)');
});

test('nested models: their calls are nodes 1.. in Keras 2 form; errors inside one name the model', () => {
  const inner = good();
  inner.name = 'inner';
  const outer: J = {
    name: 'outer',
    layers: [
      { name: 'x', class_name: 'InputLayer', config: { name: 'x', batch_input_shape: [null, 8, 8, 3] }, inbound_nodes: [] },
      { name: 'inner', class_name: 'Model', config: inner, inbound_nodes: [[['x', 0, 0, {}]]] },
    ],
    input_layers: [['x', 0, 0]],
    output_layers: [['inner', 1, 0]],
  };
  expect(() => validateFunctionalTopology(outer, WHERE)).not.toThrow();
  const at0 = structuredClone(outer);
  at0.output_layers = [['inner', 0, 0]];
  expect(() => validateFunctionalTopology(at0, WHERE)).toThrow(
    `${WHERE}: output_layers[0] refers to node 0 of nested model 'inner', whose call is node 1 in Keras 2 form: node 0 is the nested model's own inner node, not a call`,
  );
  const broken = structuredClone(outer);
  find(broken.layers[1].config, 'conv2').inbound_nodes = [[['nope', 0, 0, {}]]];
  expect(() => normalizeLayersTopology({ class_name: 'Model', config: broken }, [], WHERE)).toThrow(
    `${WHERE}: model 'inner': layer 'conv2': inbound node 0 refers to layer 'nope', which is not in the model`,
  );
});
