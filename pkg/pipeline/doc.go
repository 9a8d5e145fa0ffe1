// Package pipeline makes an image usable from a parsed reference: the
// "stored, else pulled, unpacked while downloading" path behind `pull`,
// `pull --unpack`, `unpack`, `run` and `bundle`. Each command use has one
// call: Pull, Flatten (a root filesystem in a directory) and Prepare
// (snapshots).
//
// Stored or pulled: Flatten and Prepare use the image stored under the
// reference for the platform, without touching the network, when there is
// one (image.Select picks it); otherwise they pull it, which for a
// multi-platform image stored for other platforms adds this one. Pull
// always pulls (blobs already stored are not downloaded again).
//
// One pass: when an image is pulled and also unpacked, unpacking starts as
// soon as the config is stored, and each layer is read while it downloads
// (content.Store.Follow): download, digest check, decompression and
// unpacking happen together. Layer bytes read this way are not yet
// verified; the unpacker checks each layer's uncompressed digest against
// the config, and the result is returned only once the pull has committed
// every blob.
//
// Errors: when the pull fails, its error is returned, not the unpacker's
// (which then only saw its reads cancelled); when the unpacker fails first
// (say, into a directory that is not empty), the pull is cancelled and the
// unpacker's error is returned. Result fields are nil or zero
// when their step did not run: Pull is nil when the stored image was used;
// Snapshots is set by Prepare and by Pull with Options.Unpack; Stats and
// Skipped by Flatten. On error the Result is nil, except from Flatten,
// which always returns one so that skipped entries can still be reported.
package pipeline
