// Command report turns the lab's raw measurements (results.tsv, one line
// per timed command) into tables: median wall time, CPU time (user+sys)
// and peak RSS per task, image and tool, plus each peer's ratio to
// ctr-lite computed pair by pair within the same run. It writes
// results.md, results.json and results.svg and prints the Markdown.
//
//	report -in bench/results/results.tsv -out bench/results [-env env.txt]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

const baseline = "ctr-lite"

// sample is one timed command.
type sample struct {
	Task, Image, Tool string
	Run               int
	Wall, User, Sys   float64 // seconds
	RSSKB, ExtraKB    int64   // peak RSS of the command; of a daemon it used
	OK                bool
	Note              string
}

func main() {
	in := flag.String("in", "bench/results/results.tsv", "raw measurements")
	out := flag.String("out", "bench/results", "output directory")
	env := flag.String("env", "", "file describing the machine and tool versions, quoted in results.md")
	flag.Parse()
	samples, err := readTSV(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	groups := summarize(samples)
	var envText string
	if *env != "" {
		b, _ := os.ReadFile(*env)
		envText = string(b)
	}
	tg := append(targets(groups, samples), targets17(groups, samples)...)
	md := markdown(groups, envText) + targetsMarkdown(tg)
	js, _ := json.MarshalIndent(map[string]any{"baseline": baseline, "groups": groups, "targets": tg}, "", "  ")
	files := map[string][]byte{"results.md": []byte(md), "results.json": append(js, '\n'), "results.svg": []byte(svg(groups))}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(*out, name), b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
	}
	fmt.Print(md)
}

func readTSV(name string) ([]sample, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []sample
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		t := sc.Text()
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		c := strings.Split(t, "\t")
		if len(c) < 10 {
			return nil, fmt.Errorf("%s:%d: want 10 or 11 fields, have %d", name, line, len(c))
		}
		s := sample{Task: c[0], Image: c[1], Tool: c[2], OK: c[9] == "ok"}
		s.Run, _ = strconv.Atoi(c[3])
		s.Wall, _ = strconv.ParseFloat(c[4], 64)
		s.User, _ = strconv.ParseFloat(c[5], 64)
		s.Sys, _ = strconv.ParseFloat(c[6], 64)
		s.RSSKB, _ = strconv.ParseInt(c[7], 10, 64)
		s.ExtraKB, _ = strconv.ParseInt(c[8], 10, 64)
		if len(c) > 10 {
			s.Note = c[10]
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
