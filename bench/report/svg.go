package main

import (
	"fmt"
	"html"
	"strings"
)

// svg draws one horizontal bar chart per task and image: median wall time
// per tool, each group on its own scale (the longest bar is the slowest
// tool of that group), with the value written at the end of each bar.
func svg(groups []group) string {
	const (
		width  = 800
		left   = 180 // tool labels
		right  = 130 // value labels
		barH   = 16
		gap    = 4
		titleH = 26
		pad    = 12
	)
	colors := map[string]string{}
	palette := []string{"#1b6ac9", "#e07b22", "#3a9a47", "#b03a8e", "#7a5bc4", "#8c6d31", "#c23b3b", "#3c8d93",
		"#6b6b6b", "#d4a017", "#5f9e2f", "#9b4dca", "#2f4f7f", "#e377c2"}
	color := func(tool string) string {
		if c, ok := colors[tool]; ok {
			return c
		}
		c := palette[len(colors)%len(palette)]
		colors[tool] = c
		return c
	}
	color(baseline)
	height := pad
	for _, g := range groups {
		height += titleH + len(g.Tools)*(barH+gap) + pad
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height+40, width, height+40)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="16" font-size="14" font-weight="bold">ctr-lite benchmark: median wall time (shorter is better; each group on its own scale)</text>`+"\n", pad)
	y := 20 + pad
	for _, g := range groups {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s — %s</text>`+"\n", pad, y+16, esc(g.Task), esc(g.Image))
		y += titleH
		var most float64
		for _, t := range g.Tools {
			if t.Runs > 0 && t.WallS > most {
				most = t.WallS
			}
		}
		for _, t := range g.Tools {
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+barH-4, esc(t.Tool))
			if t.Runs == 0 || most == 0 {
				fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#999">n/a</text>`+"\n", left, y+barH-4)
				y += barH + gap
				continue
			}
			w := float64(width-left-right) * t.WallS / most
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y, max(w, 1), barH, color(t.Tool))
			label := dur(t.WallS)
			if t.Pairs > 0 {
				label += fmt.Sprintf(" (%.2f×)", t.WallRatio)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(left)+max(w, 1)+5, y+barH-4, esc(label))
			y += barH + gap
		}
		y += pad
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">(N×) = median of per-run ratios peer / ctr-lite; above 1: ctr-lite is faster</text>`+"\n", pad, y+12)
	b.WriteString("</svg>\n")
	return b.String()
}

func esc(s string) string { return html.EscapeString(s) }
