# Messages per second over time for dispatch to null and to the webhook sink,
# from bench/sample_job.py's samples (seconds,done). Called by bench/load.sh:
#   gnuplot -e "null='a.csv'; hook='b.csv'; out='c.png'" bench/throughput.gp
set datafile separator ","
set terminal pngcairo size 900,450 noenhanced
set output out
set title "Crier dispatch throughput (2 cores, one job at a time)"
set xlabel "seconds since run"
set ylabel "messages per second"
set grid
set key below
# Rate between consecutive samples; the first sample of each series only
# sets the starting point.
rate(t, n) = (dt = t - tp, dn = n - np, tp = t, np = n, dt > 0 ? dn / dt : 1/0)
first(t, n) = (tp = t, np = n, 1/0)
r(t, n) = column(0) == 0 ? first(t, n) : rate(t, n)
plot null using 1:(r($1, $2)) with lines lw 2 title "to null (1 000 000 recipients)", \
     hook using 1:(r($1, $2)) with lines lw 2 title "to crier sink over loopback (200 000)"
