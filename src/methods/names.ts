/** Method names, without loading TensorFlow.js (the CLI's help text needs them before anything heavy loads). */
export const METHOD_NAMES = ['cam', 'gradcam', 'gradcam++', 'smoothgradcam++', 'xgradcam', 'layercam', 'hirescam', 'gradcam-elementwise', 'scorecam', 'ablationcam', 'eigencam', 'eigengradcam', 'saliency', 'smoothgrad', 'integrated-gradients', 'guided-backprop', 'guided-gradcam'];
