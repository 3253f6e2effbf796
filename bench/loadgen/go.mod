module socklens.io/bench/loadgen

go 1.26
