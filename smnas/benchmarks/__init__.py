"""The library behind the scripts of ``benchmarks/``: statistics of rankings and ground
truths (:mod:`.stats`), a JSON store that several processes may update
(:mod:`.store`), the records the benchmarks keep (:mod:`.records`), and the rank-fidelity
benchmark's steps (:mod:`.rank_fidelity`). The scripts stay thin: a command line and
printing."""
