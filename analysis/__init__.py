"""analysis: from ncsn's HDF5 results (a sweep directory or one run file) to a decision.

In a notebook (run Debian's /usr/bin/python3, which has h5py, numpy and matplotlib):

    import analysis
    res = analysis.load("sweeps/out")         # a sweep directory, its sweep.h5, or a run file
    res.table                                  # numpy structured array, one row per run
    res.df                                     # pandas DataFrame indexed by id (needs pandas)
    res.configs()                              # one row per configuration (configs_df(): pandas)
    run = res.run("c0003-r1")                  # opened on demand
    run.samples, run.model, run.metrics, run.config, run.sigmas, run.loss
    analysis.score(run.model, run.config, x, sigma)   # the network in numpy
    run.mixture.score(x, sigma)                # the true score of q_sigma

From the shell: /usr/bin/python3 -m analysis report PATH [-o OUTDIR] [--metric M] [--top K]
[--tol W]

Modules: results (reading files), model (the network and the mixture in numpy), modes
(the minor mode's weight and the share of samples off the data, per run), leaderboard
(ranking, groups, verdicts, CSV and markdown), configs (one row per configuration, the
baseline, the recommended ones), decision (the report's opening), figures (matplotlib
figures of runs and sweeps), config_figures (figures over every repeat of chosen
configurations), images (samples as images beside their nearest data), report (the report
folder and index.html), __main__ (the command line). docs/analysis.md describes them.
"""

from .model import Mixture, score, score_error
from .results import AnalysisError, Results, Run, load
from .report import make_report

__all__ = ["load", "score", "score_error", "Mixture", "Results", "Run", "AnalysisError",
           "make_report"]
