// Package gc frees what no stored image needs: blobs unreachable from
// index.json, partial downloads nobody holds, snapshots whose chain no
// stored image or container uses, and snapshot builds abandoned by a crash.
package gc
