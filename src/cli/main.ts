/**
 * The command-line program. A thin layer over the library: it parses flags, calls the API, prints, and
 * maps outcomes to exit codes: 0 all good, 1 some image (or check) failed, 2 usage or model errors,
 * 130 interrupted. TensorFlow.js is loaded lazily so `--help` stays fast.
 */
import { Command, CommanderError, Option } from 'commander';
import { availableParallelism } from 'os';
import { TOOL_VERSION } from '../version';
import { err, survivePipeClose } from './output';
import { METHOD_NAMES } from '../methods/names';

import { EXIT } from './exit-codes';

function collect(value: string, previous: string[] = []): string[] {
  return previous.concat(value);
}

/** The `Examples:` block that ends a command's --help. */
function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

export function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command();
  program
    .name('tfjs-cam')
    .description('Class activation maps (CAM, Grad-CAM, Grad-CAM++) for TensorFlow.js image classifiers')
    .version(TOOL_VERSION)
    .option('--debug', 'print stack traces on errors')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(err.red(str)) });

  const modelOptions = (cmd: Command) =>
    cmd
      .requiredOption('-m, --model <path>', 'model folder, model.json path or http(s) URL')
      .addOption(new Option('--backend <name>', 'compute backend').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'))
      .option('--threads <n>', 'WASM: threads per backend for one image\'s kernels (default 1, or env TFJS_CAM_THREADS; shared among --jobs workers). More threads pay off on machines with many cores; see docs/backends.md');

  /** Target layer, methods and their tuning: shared by explain and evaluate. */
  const methodOptions = (cmd: Command) =>
    cmd
      .option('-l, --layer <name>', 'target layer (repeatable: maps are averaged); default: from the sidecar, else the last spatial layer', collect)
      .option('--method <names>', `method, several separated by commas, or all: ${METHOD_NAMES.join(', ')} (default: sidecar, else gradcam)`)
      .option('--aug-smooth', 'test-time augmentation: average maps over horizontal flip x brightness 0.9/1.0/1.1')
      .option('--eigen-smooth', 'use the first principal component of the weighted activations instead of their sum')
      .option('--noise-samples <n>', 'Smooth Grad-CAM++ / SmoothGrad: noisy copies', '8')
      .option('--noise-level <x>', 'Smooth Grad-CAM++ / SmoothGrad: noise sigma as a fraction of the input range', '0.15')
      .option('--ig-steps <m>', 'Integrated Gradients: steps of the path from the baseline to the image', '32')
      .option('--seed <n>', 'seed of the noise (runs repeat exactly)', '0')
      .option('--batch-size <n>', 'Score-CAM / Ablation-CAM: forward passes per batch; SmoothGrad / Integrated Gradients: rows per backward pass', '32')
      .option('--max-channels <n>', 'Score-CAM / Ablation-CAM: score only the n channels of highest spatial variance (0 = all)', '0')
      .option('--fem-k <k>', "FEM: an activation counts where it exceeds its channel's mean + k standard deviations (k > 0)", '2')
      .addOption(new Option('--kpca-kernel <name>', 'KPCA-CAM: kernel of the kernel PCA over positions').choices(['sigmoid', 'rbf', 'poly', 'cosine']).default('sigmoid'))
      .option('--kpca-gamma <g>', "KPCA-CAM: the kernel's gamma (default 1 / channels, as scikit-learn)")
      .option('--finer-alpha <a>', 'Finer-CAM: weight of the comparison classes\' logits subtracted from the class\'s', '1')
      .option('--finer-base <method>', 'Finer-CAM: the method that explains the Finer-CAM score', 'gradcam')
      .addOption(new Option('--score <kind>', 'differentiate the class logit or its softmax probability').choices(['logit', 'probability']).default('logit'));

  /** Labels and preprocessing (override the sidecar): shared by explain and evaluate. */
  const inputOptions = (cmd: Command) =>
    cmd
      .option('--labels <file>', 'labels: JSON array or text with one label per line')
      .option('--scale <range>', "pixel range the model expects: 0,1 | -1,1 | 0,255 (default: sidecar, else the model's own Rescaling/Normalization first layer, else 0,1)")
      .option('--mean <values>', 'per-channel mean subtracted after scaling, e.g. 0.485,0.456,0.406')
      .option('--std <values>', 'per-channel standard deviation divided after the mean')
      .option('--bgr', "feed channels in BGR order; --mean and --std are then in the model's (BGR) order: reverse an RGB-order mean")
      .addOption(new Option('--resize <mode>', 'how images are fitted to the model input').choices(['stretch', 'crop', 'pad']))
      .addOption(new Option('--gray <mode>', '1-channel models: grey as the app makes it: ITU-R 601 luma, the mean of R, G and B, or one channel (default: sidecar, else luma)').choices(['luma', 'mean', 'r', 'g', 'b']))
      .addOption(new Option('--interpolation <name>', "resampling to the model input, as the app does it (default: sidecar, else bilinear = tf.image.resizeBilinear; bicubic and pil-nearest = PIL's Image.resize)").choices(['bilinear', 'area', 'nearest', 'lanczos', 'bicubic', 'pil-nearest']))
      .option('--align-corners', "bilinear/nearest: tf's alignCorners=true (as ml5 resizes)");

  const explainCmd = program
    .command('explain')
    .description('compute class activation maps for images or folders and write overlays and a JSON report')
    .argument('<images...>', 'image files or folders (searched recursively)');
  inputOptions(methodOptions(modelOptions(explainCmd)))
    .option('--no-sheet', 'with several methods, skip the comparison sheet PNG per image')
    .option('-k, --top-k <n>', 'explain the top n classes (default: 3, or all classes of a model with fewer)')
    .option('-c, --class <class>', 'explain this class, by index or label (repeatable; overrides --top-k)', collect)
    .option('--target <spec>', 'explain a target: class:<c>, logit-diff:<c1>,<c2> (why c1 and not c2), sum:<c1>,<c2>,..., seg:<c>[@mask.png] (segmentation models), similar-to:<image> (repeatable; with --class, overrides --top-k)', collect)
    .option('--embedding-layer <name>', 'similar-to: targets: the layer whose output is the embedding (default: the last global pooling layer)')
    .option('-o, --out <dir>', 'output folder', 'cam-out')
    .option('--finer-compare <classes>', 'Finer-CAM: compare each class with these classes, by index or label, comma-separated (default: the 3 with the closest logits)')
    .addOption(new Option('--aggregate <how>', 'several --layer: average the maps (mean) or multiply them (product, as RefineCAM)').choices(['mean', 'product']).default('mean'))
    .option('--baseline <image>', 'Integrated Gradients: baseline image, fitted and preprocessed like the inputs (default: black)')
    .addOption(new Option('--colormap <name>', 'colour map for heatmaps').choices(['jet', 'turbo', 'viridis', 'inferno']).default('jet'))
    .option('--alpha <a>', 'heatmap opacity in the overlay (0..1)', '0.5')
    .addOption(new Option('--render <mode>', 'pixel-level methods (saliency, smoothgrad, integrated-gradients, guided-*): auto or signed (signed attribution on a diverging colour map centred on 0), heatmap (magnitude, per-map scale), or gradient (the papers\' grey-centred RGB images)').choices(['auto', 'heatmap', 'signed', 'gradient']).default('auto'))
    .addOption(new Option('--signed-colormap <name>', 'diverging colour map of signed maps').choices(['bwr', 'rdwhgn']).default('bwr'))
    .option('--outlier-percent <p>', 'signed maps: share (%) of the total |attribution| that saturates at the ends, as Captum (0 <= p < 100)', '2')
    .addOption(new Option('--legend [where]', 'add a colour-scale strip to each overlay, heatmap and gradient image').choices(['below', 'none']).preset('below').default('none'))
    .option('--heatmap', 'also write the heatmap alone (same format as the overlays)')
    .option('--max-size <px>', 'longest side of overlays, heatmaps and sheets in pixels; 0 = the image\'s own size', '2048')
    .addOption(new Option('--format <name>', 'overlay, heatmap and sheet format').choices(['png', 'jpeg', 'webp']).default('png'))
    .option('--quality <q>', 'jpeg/webp quality, 1..100 (default 90)')
    .option('--save-raw', 'write each raw low-resolution map as float32 .npy')
    .option('--save-input', 'write the exact preprocessed model input as float32 .npy')
    .option('-j, --jobs <n>', 'backends for folders: this thread plus n - 1 worker threads, each loading the model (default auto: up to the cores, as many as pay for themselves)', 'auto')
    .option('-f, --force', 'overwrite existing outputs')
    .option('--resume', 'finish an interrupted run in the same --out: skip images whose outputs are all there, redo the rest, merge report.json')
    .option('--shard <K/N>', 'explain only shard K (0-based) of N of the inputs, split by a hash of each relative path; auto/N: K from JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or AWS_BATCH_JOB_ARRAY_INDEX (then tfjs-cam merge)')
    .option('--json', 'print the JSON report on stdout')
    .option('--html', 'also write <out>/index.html: thumbnails, classes and scores, links to the overlays (works offline)')
    .option('--no-timings', 'leave timings out of the report (byte-stable reports)')
    .option('-q, --quiet', 'print only errors and the summary')
    .addHelpText('after', examples([
      'tfjs-cam explain photo.jpg -m ./my-model                       # top-3 classes, Grad-CAM, ./cam-out/',
      'tfjs-cam explain photos/ -m ./my-model --method gradcam,scorecam --max-size 1024 --format jpeg -o out/',
      'tfjs-cam explain cat.png -m ./my-model --class "tabby cat" --json > report.json',
      'tfjs-cam explain cat.png -m ./my-model --target logit-diff:"tabby cat",dog --method gradcam,integrated-gradients   # why cat and not dog',
      'tfjs-cam explain street.png -m models/seg-digits --target seg:7   # where the segment of digit 7 comes from',
      'tfjs-cam explain photo.jpg -m ./my-model --target similar-to:reference.jpg   # what makes photo.jpg look like reference.jpg',
      'tfjs-cam explain /data/images -m ./my-model --shard auto/16 -o /data/out/shard-$JOB_COMPLETION_INDEX   # one of 16 array-job tasks',
      'tfjs-cam explain cat.png -m ./my-model --method guided-gradcam,smoothgrad --render gradient   # the papers\' gradient images',
    ]))
    .action(async (images: string[], o: Record<string, unknown>) => {
      const { runExplain } = await import('./explain');
      setCode(await runExplain(images, o));
    });

  const evaluateCmd = program
    .command('evaluate')
    .description('score maps against ground-truth boxes: pointing game, energy in box, localisation, faithfulness')
    .argument('[images...]', 'images or folders (default: the folder of the boxes file)');
  inputOptions(methodOptions(modelOptions(evaluateCmd)))
    .requiredOption('--boxes <file>', 'ground-truth boxes (JSON, see docs/evaluate.md)')
    .option('--tolerance <px>', 'pointing game: how far outside the box (model-input pixels) the maximum may lie', '0')
    .option('--steps <n>', 'deletion/insertion curve steps', '32')
    .option('--no-faithfulness', 'skip Average Drop, Increase in Confidence, deletion/insertion and ROAD (each costs forward passes)')
    .option('--no-arcc', 'skip Coherency (one more explanation per map) and so ADCC and ARCC; Complexity is always measured')
    .option('--road', 'also ROAD (Remove And Debias): MoRF/LeRF curves with noisy linear imputation, 18 imputations and forward passes per map (about doubles evaluate at 224 x 224)')
    .option('--target <spec>', "explain this target on every image instead of its boxes' class: class:<c>, logit-diff:<c1>,<c2>, sum:<c1>,<c2>,...", collect)
    .option('--shuffle-weights <seed>', "shuffle the model's weights first: the untrained-model sanity baseline")
    .option('-o, --out <dir>', 'folder for evaluation.json and curves.png', 'cam-eval')
    .option('-j, --jobs <n>', 'threads for the faithfulness passes, each with its own backend and model', String(availableParallelism()))
    .option('--overlays', 'also write each map over its image into --out, as explain does (<name>.<method>.<class>-<label>.png)')
    .option('--html', 'also write <out>/index.html: the scores and curves, self-contained (works offline)')
    .option('-f, --force', 'overwrite existing outputs')
    .option('--json', 'print the evaluation report on stdout')
    .addHelpText('after', examples([
      'tfjs-cam evaluate -m models/gap-cnn --boxes samples/boxes.json --method all',
      'tfjs-cam evaluate -m ./my-model --boxes boxes.json photos/ --shuffle-weights 1 -o eval-untrained   # sanity baseline',
      'tfjs-cam evaluate -m models/gap-cnn --boxes samples/boxes.json --method gradcam --target logit-diff:7,1   # why 7 and not 1',
    ]))
    .action(async (images: string[], o: Record<string, unknown>) => {
      const { runEvaluate } = await import('./evaluate');
      setCode(await runEvaluate(images, o));
    });

  program
    .command('merge')
    .description('combine the output folders of explain --shard K/N runs into one, as a single run would have written it (shard folders are only read)')
    .argument('<dirs...>', 'output folders of the shards (all N of them)')
    .requiredOption('-o, --out <dir>', 'output folder of the merged run')
    .option('--html', 'write <out>/index.html (default: when the shards have one)')
    .option('-f, --force', 'overwrite existing outputs')
    .option('--json', 'print the merged report on stdout')
    .option('-q, --quiet', 'print only errors and the summary')
    .addHelpText('after', examples([
      'tfjs-cam merge out/shard-0 out/shard-1 out/shard-2 -o out/all',
      'tfjs-cam merge /data/out/shard-* -o /data/out/merged --html',
    ]))
    .action(async (dirs: string[], o: Record<string, unknown>) => {
      const { runMerge } = await import('./merge');
      setCode(await runMerge(dirs, o));
    });

  const conceptsCmd = program
    .command('concepts')
    .description("Deep Feature Factorization: split a layer's activations over the images into k concepts (NMF), one map per concept and each concept's top classes, drawn as one picture per image with a legend")
    .argument('<images...>', 'image files or folders (searched recursively), factorised together');
  inputOptions(modelOptions(conceptsCmd))
    .option('-k <n>', 'concepts to find', '4')
    .option('-l, --layer <name>', 'layer to factorise (default: from the sidecar, else the last spatial layer); the head after it must pool and then be linear')
    .option('--seed <n>', "seed of the factorisation's random start: the same seed gives the same concepts", '0')
    .option('--top-classes <n>', 'classes listed per concept', '3')
    .option('-o, --out <dir>', 'output folder', 'concepts-out')
    .option('-f, --force', 'overwrite existing outputs')
    .option('--json', 'print concepts.json on stdout')
    .addHelpText('after', examples(['tfjs-cam concepts samples/digit-03-3.png samples/digit-07-7.png -m models/gap-cnn -k 3 -o concepts-out']))
    .action(async (images: string[], o: Record<string, unknown>) => {
      const { runConcepts } = await import('./concepts');
      setCode(await runConcepts(images, o));
    });

  const inspectCmd = program.command('inspect').description("list the model's layers with output shapes, the default target layer and whether CAM is possible");
  modelOptions(inspectCmd)
    .option('--json', 'print as JSON')
    .addHelpText('after', examples(['tfjs-cam inspect -m models/resnet-bn', 'tfjs-cam inspect -m https://example.com/models/my-model/ --json']))
    .action(async (o: Record<string, unknown>) => {
      const { runInspect } = await import('./inspect');
      setCode(await runInspect(o));
    });

  const serveCmd = program
    .command('serve')
    .description('explore a model in the browser: a local web server for a page that computes maps on your GPU (WebGL), else WebGPU or WASM')
    .argument('[images...]', 'images or folders to list on the page (others can be dropped or picked there)')
    .requiredOption('-m, --model <path>', 'model folder or model.json path');
  inputOptions(serveCmd)
    .option('--method <name>', `method shown first: ${METHOD_NAMES.filter((m) => !m.startsWith('guided')).join(', ')} (default: sidecar, else gradcam)`)
    .option('-l, --layer <name>', 'target layer shown first (default: from the sidecar, else the last spatial layer)')
    .option('-k, --top-k <n>', 'classes listed per image', '5')
    .option('--port <n>', 'port (0: any free port)', '8080')
    .option('--host <address>', 'address to listen on; other machines can reach the page only if this is not a loopback address', '127.0.0.1')
    .addHelpText('after', examples([
      'tfjs-cam serve -m ./my-model photos/                 # then open http://127.0.0.1:8080/',
      'tfjs-cam serve -m models/gap-cnn samples --port 0     # any free port; the URL is printed',
    ]))
    .action(async (images: string[], o: Record<string, unknown>) => {
      const { runServe } = await import('./serve');
      setCode(await runServe(images, o));
    });

  program
    .command('check')
    .description('run attention checks from a spec (YAML or JSON): class, probability and where the map points; exit 0 all pass, 1 any fails, 2 spec error')
    .argument('<spec>', 'check spec file (see schema/check-spec.schema.json)')
    .addOption(new Option('--backend <name>', 'compute backend').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'))
    .option('--threads <n>', 'WASM: threads for one image\'s kernels (default 1, or env TFJS_CAM_THREADS)')
    .option('-o, --out <dir>', 'folder for overlays of failing checks (and index.html)', 'cam-check')
    .addOption(new Option('--overlays <which>', 'which checks get an overlay with the expected region drawn').choices(['failed', 'all', 'none']))
    .option('--target <spec>', "explain this target in every case instead of its class: class:<c>, logit-diff:<c1>,<c2>, sum:<c1>,<c2>,...")
    .option('--junit <file>', 'write a JUnit XML report (for CI test reports)')
    .option('--html', 'write <out>/index.html with every check, its overlay and the reasons of failures')
    .option('--json', 'print the JSON report on stdout instead of the table')
    .addOption(new Option('--colormap <name>', 'colour map for overlays').choices(['jet', 'turbo', 'viridis', 'inferno']).default('jet'))
    .option('--alpha <a>', 'heatmap opacity in overlays (0..1)', '0.5')
    .option('--no-timings', 'leave timings out of the reports (byte-stable output)')
    .option('-q, --quiet', 'list only failing checks and the summary')
    .addHelpText('after', examples([
      'tfjs-cam check samples/check.yaml',
      'tfjs-cam check attention.yaml --junit reports/cam.xml --html',
      'tfjs-cam check attention.yaml --json > check.json',
    ]))
    .action(async (spec: string, o: Record<string, unknown>) => {
      const { runCheck } = await import('./check');
      setCode(await runCheck(spec, o));
    });
  program
    .command('diff')
    .description("compare where two models look: the maps of the same classes under a base and a head model (quantised, retrained, converted), compared on each image; exit 0 all hold, 1 any fails, 2 usage error")
    .argument('<images...>', 'image files or folders (searched recursively)')
    .requiredOption('--base <model>', 'the reference model: folder, model.json path or http(s) URL')
    .requiredOption('--head <model>', 'the model under test')
    .addOption(new Option('--backend <name>', 'compute backend').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'))
    .option('--threads <n>', "WASM: threads per backend for one image's kernels (default 1, or env TFJS_CAM_THREADS)")
    .option('--method <names>', `method (several separated by commas): ${METHOD_NAMES.join(', ')} (default: the base's sidecar, else gradcam); both sides run the same`)
    .option('-l, --layer <name>', "target layer of both models (repeatable); default: each model's sidecar, else its last spatial layer", collect)
    .option('--base-layer <name>', "the base model's target layer, when the two differ (repeatable)", collect)
    .option('--head-layer <name>', "the head model's target layer (repeatable)", collect)
    .option('-c, --class <class>', "compare the maps of this class, by index or label as the base reads it (repeatable; default: the base's top-1 on each image)", collect)
    .option('--target <spec>', 'compare the maps of a target: class:<c>, logit-diff:<c1>,<c2>, sum:<c1>,<c2>,... (repeatable)', collect)
    .option('-k, --top-k <n>', "top classes listed per model and image", '3')
    .addOption(new Option('--score <kind>', 'differentiate the class logit or its softmax probability').choices(['logit', 'probability']).default('logit'))
    .option('--min-correlation <r>', "fail an image whose maps correlate less than this (-1..1)")
    .option('--max-peak-shift <x>', "fail an image whose peak moves more than this share of the image's diagonal (0..1), or pixels as '12px'")
    .option('--max-flips <n>', "fail when more than n images change their top-1 class")
    .option('--max-probability-drop <p>', "fail an image whose compared class loses more than this probability (0..1)")
    .option('--junit <file>', 'write a JUnit XML report (for CI test reports)')
    .option('--html', 'write <out>/index.html: base | head | difference overlays per image, the numbers, sortable columns')
    .option('-o, --out <dir>', 'folder for --html and its overlays', 'cam-diff')
    .addOption(new Option('--colormap <name>', 'colour map for overlays').choices(['jet', 'turbo', 'viridis', 'inferno']).default('jet'))
    .option('--alpha <a>', 'heatmap opacity in overlays (0..1)', '0.5')
    .option('-j, --jobs <n>', 'this thread plus n - 1 worker threads, each loading both models', '1')
    .option('--shard <K/N>', 'compare only shard K (0-based) of N of the inputs (split as explain --shard); auto/N from the array job index')
    .option('--json', 'print the JSON report on stdout instead of the table')
    .option('--no-timings', 'leave timings out of the report (byte-stable output)')
    .option('-q, --quiet', 'list only failing images and the summary')
    .addHelpText('after', examples([
      'tfjs-cam diff --base models/gap-cnn --head gap-cnn-uint8 samples --min-correlation 0.9 --max-flips 0',
      'tfjs-cam diff --base ./v1 --head ./v2 photos/ --max-peak-shift 0.1 --max-probability-drop 0.1 --junit reports/diff.xml --html',
      'tfjs-cam diff --base ./keras-model --head ./graph-model cat.png --class "tabby cat" --base-layer conv5 --head-layer block5/Relu --json',
    ]))
    .action(async (images: string[], o: Record<string, unknown>) => {
      const { runDiff } = await import('./diff');
      setCode(await runDiff(images, o));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.OK;
  survivePipeClose();
  const program = buildProgram((c) => (code = c));
  const debug = argv.includes('--debug');
  if (debug) process.env.TFJS_CAM_DEBUG = '1';
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit through here with code 0; usage mistakes were already printed by commander.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const { reportError } = await import('./errors');
    return reportError(e, debug);
  }
}
