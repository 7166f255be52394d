/* classify.h: data with labels, where the classes play the modes' part
 * (docs/computation.md, metrics): a k-nearest-neighbour classifier fitted on the training
 * rows says which class each sample belongs to.
 *   NCSN_KNN_K             k, the neighbours that vote (5)
 *   ncsn_knn_predict       each query row's class by its k nearest fitted rows
 *   ncsn_class_shares      the classes' shares among n labels
 *   ncsn_metrics_classes   a run's class metrics: the classifier's held-out accuracy, the
 *                          samples' class shares (mode_weights) and their largest error
 *                          against the training shares (mode_weight_error)
 * Neighbours are by Euclidean distance in double; of equal distances the lower fitted row
 * comes first. The class with the most votes wins; a tie in votes goes to the tied class
 * whose member among the k is nearest. Every query is classified on its own (OpenMP over
 * queries), so the result does not depend on the thread count. Cost: n_fit D per query. */
#ifndef NCSN_CLASSIFY_H
#define NCSN_CLASSIFY_H

#include "ncsn/dataset.h"
#include "ncsn/metrics.h"

#define NCSN_KNN_K 5

/* pred (n): the class of each row of x (n, D) among fit (n_fit, D) with classes
 * fit_labels (n_fit) in 0 .. n_classes - 1; k neighbours, at most n_fit. */
void ncsn_knn_predict(const float *fit, const int *fit_labels, int n_fit, int D, int n_classes,
                      int k, const float *x, int n, int *pred);

/* w (K): the share of each class 0 .. K - 1 among labels (n); NaN for n < 1. */
void ncsn_class_shares(const int *labels, int n, int K, double *w);

/* For a data set with labels (ds->train_labels): the classifier is fitted on the run's
 * training points, the first ds->n_points training rows. Sets out->labelled,
 * out->classifier_accuracy (on the held-out rows), out->K = ds->n_classes,
 * out->train_shares (the classes' shares among those training points), out->mode_weights
 * (NaN when a sample is not finite; both malloc'd, freed by ncsn_metrics_free) and
 * out->mode_weight_error = max_k |w_k - training share_k|.
 * samples (n, D). */
void ncsn_metrics_classes(const ncsn_dataset *ds, const float *samples, int n,
                          ncsn_metrics *out);

#endif
