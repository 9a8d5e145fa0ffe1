// Package progress reports blob transfers: one bar per blob on a terminal
// (bytes, rate, "resumed"/"exists"; redrawn in place with ANSI cursor
// moves, a few times a second), one plain line per blob when it starts
// and ends otherwise (CI logs), a record of every blob for `pull --json`
// (Record), or nothing at all. Each reporter is an
// image.Progress: the pull declares the events, this package draws them.
package progress
