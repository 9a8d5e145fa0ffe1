package main

import (
	"crypto/tls"
	"fmt"
	"log"
	"net"

	"github.com/ctrlite/ctr-lite/pkg/serve"
	"github.com/spf13/cobra"
)

func init() { register("serve", newServeCmd) }

func newServeCmd(g *globals) *cobra.Command {
	var addr, cert, key string
	cmd := &cobra.Command{
		Use:     "serve [--addr HOST:PORT]",
		GroupID: "store",
		Short:   "Serve the local store read-only to peers, as an OCI registry",
		Long: `Serve answers the OCI distribution API's read side (/v2/, manifests by tag
or digest, blobs by digest, HEAD and Range) from the local content store,
so other nodes can list this one as a mirror in their hosts.toml:

  [host."http://node-a:5050"]
    capabilities = ["pull", "resolve"]

Writes are refused. Every blob is verified before it is first served; a
damaged one is answered as unknown, so the peer falls back to the next
host. It listens on loopback unless --addr says otherwise, and stops on
SIGINT or SIGTERM.`,
		Example: `  ctr-lite serve
  ctr-lite serve --addr 0.0.0.0:5050 --tls-cert node.pem --tls-key node-key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (cert == "") != (key == "") {
				return usageError("--tls-cert and --tls-key go together")
			}
			st, err := g.store()
			if err != nil {
				return err
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			scheme := "http"
			if cert != "" {
				pair, err := tls.LoadX509KeyPair(cert, key)
				if err != nil {
					l.Close()
					return fmt.Errorf("serve: %w", err)
				}
				l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
				scheme = "https"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "serving %s read-only on %s://%s\n", g.root, scheme, l.Addr())
			errLog := log.New(cmd.ErrOrStderr(), "ctr-lite: ", 0)
			return serve.Serve(cmd.Context(), l, serve.Handler(st, errLog))
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:5050", "`HOST:PORT` to listen on")
	f.StringVar(&cert, "tls-cert", "", "serve HTTPS with this PEM certificate `FILE`")
	f.StringVar(&key, "tls-key", "", "the certificate's PEM key `FILE`")
	return cmd
}
