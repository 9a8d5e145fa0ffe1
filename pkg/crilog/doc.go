// Package crilog writes and reads container logs in the format of the
// Kubernetes CRI (the one kubelet and conmon write):
//
//	<RFC3339Nano time> <stdout|stderr> <F|P> <payload>
//
// one record per line. F ends a line of the container's output; P is a
// partial line (the output did not end with a newline, or the line was
// longer than a record may be) that the next records of the stream
// continue. A Log rotates at a size limit, keeping one rotated file
// (<path>.1), so the two files together stay under twice the limit.
// Copy prints a log's payload back, stdout and stderr apart, with --tail
// and --follow.
package crilog
