// Silence tfjs' "install the node backend" banner in test output.
import * as tf from '@tensorflow/tfjs';
tf.enableProdMode();
