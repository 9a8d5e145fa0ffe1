// Package units prints sizes and digests the way every ctr-lite command
// shows them: decimal sizes as docker and dive print them ("4.0 MB"), and
// digests shortened to 12 hex digits.
package units
