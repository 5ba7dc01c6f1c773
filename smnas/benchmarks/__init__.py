"""The library behind the scripts of ``benchmarks/``: statistics of rankings and ground
truths (:mod:`.stats`), a JSON store that several processes may update
(:mod:`.store`), and the records the benchmarks keep (:mod:`.records`). The scripts
stay thin: a command line, orchestration and printing."""
