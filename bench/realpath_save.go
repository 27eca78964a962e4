package main

import (
	"encoding/gob"
	"os"
	"time"

	"github.com/inet256/go-utp/v2/e2e/realpath"
)

// rpSaved is a whole run as -save writes it and -from reads it back, so
// that the tables and plots can be redrawn without measuring again.
type rpSaved struct {
	When    time.Time
	Machine string // machine()
	Before  string // rpBefore.Rev when the run had the earlier build
	Rounds  []rpSavedRound
}

// rpSavedRound is rpResults with exported fields, for gob.
type rpSavedRound struct {
	One, LongFat, Gigabit map[string]realpath.OneFlow
	Join, Late            map[string]realpath.Pair
	Load                  [2]float64
}

// rpMeasure runs the rounds on the paths in the set (nil: all).
func rpMeasure(rounds int, paths map[string]bool) (rpSaved, error) {
	run := rpSaved{When: time.Now().UTC(), Machine: machine(), Before: rpBefore.Rev}
	for r := 1; r <= rounds; r++ {
		load := loadAvg()
		res, err := rpRound(r, paths)
		if err != nil {
			return run, err
		}
		run.Rounds = append(run.Rounds, rpSavedRound{One: res.one, LongFat: res.longFat, Gigabit: res.gigabit,
			Join: res.join, Late: res.late, Load: [2]float64{load, loadAvg()}})
	}
	return run, nil
}

// results are the saved rounds as the report takes them. A run made
// with the earlier build keeps its column when redrawn by a build
// without it.
func (run rpSaved) results() []rpResults {
	if run.Before != "" && rpBefore.Transport == nil {
		rpBefore.Transport, rpBefore.Rev = &realpath.Transport{Name: "utp-before"}, run.Before
	}
	var all []rpResults
	for _, r := range run.Rounds {
		all = append(all, rpResults{one: r.One, longFat: r.LongFat, gigabit: r.Gigabit, join: r.Join, late: r.Late, load: r.Load})
	}
	return all
}

func rpSave(file string, run rpSaved) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := gob.NewEncoder(f).Encode(run); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func rpLoadSaved(file string) (rpSaved, error) {
	var run rpSaved
	f, err := os.Open(file)
	if err != nil {
		return run, err
	}
	defer f.Close()
	return run, gob.NewDecoder(f).Decode(&run)
}
