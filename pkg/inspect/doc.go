// Package inspect answers "what is in this image and why is it big" from
// manifests, configs and layer tar headers alone, and gates images in CI.
// Nothing is written to disk: layer blobs are streamed (one goroutine per
// layer, at most GOMAXPROCS at once), decompressed by pkg/compression,
// and read header by header; regular file contents are hashed (sha256)
// and dropped. Every scan verifies each blob against its manifest
// descriptor (sha256 and size) and each uncompressed stream against the
// config's rootfs.diff_ids; a mismatch is an error (errdefs.ErrDigestMismatch,
// errdefs.ErrDiffIDMismatch).
//
// The image comes in as a Source (manifest already resolved to one
// platform, config, and an opener of compressed layer streams); the CLI
// implements it over the content store and over a registry.
//
// # Reports
//
// Each report is a struct with stable snake_case JSON field names (write
// it with WriteJSON) and a Write...Table function for humans:
//
//   - Layers / WriteLayersTable: LayersReport{manifest_digest, layers[],
//     total}; a layer: index, digest, diff_id, media_type,
//     compressed_size, uncompressed_size (bytes of the tar stream),
//     file_count (tar entries of every type except whiteout and opaque
//     markers), whiteouts (markers), created_by. History entries with
//     empty_layer: true are skipped when matching history to layers.
//   - History / WriteHistoryTable: HistoryReport{history[]}; an entry:
//     index, created (RFC 3339), created_by, comment, empty_layer, layer
//     (the layer index it made, or null).
//   - Files / WriteFilesTable: FilesReport{layer (null = merged tree),
//     entries[]}; an entry: path, type (file, dir, symlink, hardlink,
//     char, block, fifo, whiteout, opaque, other), mode (octal string with
//     setuid/setgid/sticky: "4755"), uid, gid, size, link_target, digest
//     ("sha256:..." of a file's content; a hardlink carries its target's
//     size and digest), layer (index of the layer the entry comes from).
//     The merged tree applies the image-spec rules: a whiteout ".wh.NAME"
//     removes NAME and everything below it from lower layers; an opaque
//     marker ".wh..wh..opq" hides everything lower layers put in its
//     directory; entries of the same layer always survive; a non-directory
//     replaces a directory with all its contents. A glob selects paths:
//     segments match as path.Match, "**" matches any number of segments.
//   - Efficiency / WriteEfficiencyTable: EfficiencyReport{efficiency,
//     total_bytes, user_bytes, wasted_bytes, wasted_percent,
//     deleted_bytes, wasted_paths[{path, count, bytes}]}.
//   - Diff / WriteDiffTable: DiffReport{a, b, paths[{path, change
//     (added|removed|changed), fields (type, mode, uid, gid, size, digest,
//     link_target), a, b (the entries), size_delta}], summary{added,
//     removed, changed, added_bytes, removed_bytes, size_delta}} comparing
//     merged trees; with DiffOptions.Layers instead layers{shared, added,
//     removed} (diffIDs; no layer is read).
//   - Check / WriteCheckTable / WriteJUnit: CheckReport{image, pass,
//     results[{rule, value, limit, pass, message}]}; value and limit are
//     JSON numbers but for no_root_user (strings) and forbid's glob limit.
//
// # Efficiency (dive's definitions)
//
// Efficiency follows github.com/wagoodman/dive (filetree/efficiency.go and
// image/image.go) so the numbers can be compared with `dive --ci`:
//
//  1. Each layer is a tree of its own tar entries. Opaque markers are not
//     part of it; a whiteout ".wh.NAME" is a node at NAME. Only leaves
//     count: entries nothing else in the same layer lives under (files,
//     links, whiteouts, empty directories). A directory that has entries
//     below it in its layer is not counted itself.
//  2. A leaf's size is its tar header size (0 for directories, symlinks,
//     hardlinks and devices). A whiteout's size is 0 when it deletes a
//     non-directory, and the summed header sizes of the whole deleted
//     subtree when it deletes a directory (looked up in the merged tree
//     of the layers below).
//  3. Per path over all layers: count = number of leaves at that path,
//     cumulative = sum of their sizes, minimum = the smallest of them.
//  4. wasted_bytes = sum of cumulative over paths with count >= 2. Every
//     copy counts, the last one included (dive's WastedBytes).
//  5. efficiency = sum of minimum / sum of cumulative over all paths (1
//     when both are 0). It is a fraction from 0 to 1.
//  6. total_bytes = sum over layers of all header sizes in the layer;
//     user_bytes = the same without the first layer; wasted_percent =
//     100 * wasted_bytes / user_bytes (dive's WastedUserPercent as a
//     percentage; 0 when user_bytes is 0). It can exceed 100.
//  7. wasted_paths lists the paths with count >= 2 and cumulative > 0,
//     largest first, ties by path.
//
// Consequences worth knowing (they are dive's): a file overwritten once
// counts twice its size in wasted bytes; deleting a file with a whiteout
// counts the deleted file's size, but `rm -rf dir` (a directory whiteout)
// or an opaque directory adds nothing to wasted bytes, because the lower
// layer's directory is not a leaf. deleted_bytes, which dive does not
// have, reports those: the header bytes of lower-layer entries hidden by
// whiteouts and opaque markers. Where dive fails on a whiteout of a path
// absent below (it stops visiting that layer), we count the whiteout as
// 0 bytes and go on. dive ignores opaque markers when it stacks the lower
// layers that size a directory whiteout (rule 2): so does efficiency, so
// that what an opaque directory hid still counts in the deleted
// directory's size; deleted_bytes and the merged tree apply them.
//
// # Check rules
//
// Rules (YAML or JSON through ParseRules/LoadRules; unknown fields are
// errors) uses the field names max_size, uncompressed, max_layers,
// min_efficiency, max_wasted_bytes, max_wasted_percent, no_root_user,
// forbid, no_new_setuid, max_growth. Sizes are a number of bytes or a
// ParseSize string: KB, MB, GB, TB are decimal (1 MB = 1,000,000 B);
// KiB, MiB, GiB, TiB are binary (1 MiB = 1,048,576 B); case-insensitive;
// "K", "M", "G", "T" are decimal. The image size is the sum of the
// compressed layer blobs (manifest sizes; config excluded), or with
// uncompressed the sum of the uncompressed tar streams. min_efficiency is
// a fraction (0.95); max_wasted_percent is a percentage (20 = 20 %) of
// user_bytes. no_root_user fails on a config User that is empty, "root",
// "0" or those with ":group". forbid fails per glob matching any path of
// the merged tree. no_new_setuid fails on setuid or setgid regular files
// (or hardlinks) whose path is not setuid/setgid in the baseline.
// max_growth caps size(image) - size(baseline), sized as max_size is.
// Results come in that field order, one per forbid glob. In each result
// value and limit are strings: bytes as integers, fractions and
// percentages with four decimals, the User for no_root_user, the number of
// matching paths for forbid (whose limit is the glob). Layer blobs are
// read only when a rule needs them (efficiency, wasted, forbid, setuid,
// uncompressed sizes).
//
// WriteJUnit writes one <testsuite> named CheckReport.Image (the manifest
// digest unless the caller sets the reference) inside <testsuites>, one
// <testcase classname="ctr-lite.check"> per result named after the rule
// ("forbid <glob>" for forbid), a failed rule carrying <failure
// message=... type=rule>, a passed one its message in <system-out>.
package inspect
