package utp

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// threadSched sums, over the process's threads, the time they ran on a
// CPU and the time they waited runnable for one (the first two fields of
// /proc/self/task/*/schedstat). A churn that keeps fewer cores busy than
// it could either left its threads idle (waits in the code: few
// runnable) or was denied the cores (the wait here is high): on a shared
// machine with autogroups, one CPU-bound process of another session,
// whatever its nice, takes its session's share of the cores.
func threadSched() (ran, waited time.Duration, ok bool) {
	tasks, err := filepath.Glob("/proc/self/task/*/schedstat")
	if err != nil || len(tasks) == 0 {
		return 0, 0, false
	}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited
		}
		fields := strings.Fields(string(b))
		if len(fields) < 2 {
			return 0, 0, false
		}
		r, err1 := strconv.ParseInt(fields[0], 10, 64)
		w, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, false
		}
		ran += time.Duration(r)
		waited += time.Duration(w)
	}
	return ran, waited, true
}
