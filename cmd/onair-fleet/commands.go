package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/onair-dev/onair/fleet"
	"github.com/onair-dev/onair/internal/cli"
)

func (a *app) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Serve /enroll and /renew over HTTPS and keep the broker's ACL and CRL current",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, _, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			return s.Run(cmd.Context())
		},
	}
}

func (a *app) claimCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "claim",
		Short: "Make a claim token for boards to enroll with; prints it",
		Args:  cobra.NoArgs,
	}
	uses := cmd.Flags().Int("uses", 1, "how many devices may enroll with it")
	ttl := fleet.Duration(7 * 24 * time.Hour)
	cmd.Flags().Var(&ttl, "ttl", "how long it is valid, e.g. 30d, 12h")
	groups := cmd.Flags().StringSlice("group", nil, "group of the devices enrolled with it (repeatable)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return a.with(cmd.Context(), func(s *fleet.Server) error {
			tok, c, err := s.NewClaim(cmd.Context(), *uses, time.Duration(ttl), *groups, operator())
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, tok)
			fmt.Fprintf(a.stderr, "claim %s: %d uses, expires %s, groups %v\n", c.ID, c.Uses, c.ExpiresAt.UTC().Format(time.RFC3339), c.Groups)
			return nil
		})
	}
	return cmd
}

func (a *app) deviceCommand(use, short string, f func(context.Context, *fleet.Server, string, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " DEVICE",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), func(s *fleet.Server) error { return f(cmd.Context(), s, args[0], operator()) })
		},
	}
}

func (a *app) aclCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "acl",
		Short: "Write the Mosquitto ACL (and the CRL) now; --acl-out says where",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.with(cmd.Context(), func(s *fleet.Server) error { return s.WriteAccessFiles(cmd.Context()) })
		},
	}
}

func (a *app) devicesCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "devices",
		Short: "List the enrolled devices",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.with(cmd.Context(), func(s *fleet.Server) error {
				ds, err := s.Registry().Devices(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "DEVICE\tGROUPS\tCERT EXPIRES\tREVOKED\tKEY")
				for _, d := range ds {
					revoked := "-"
					if !d.RevokedAt.IsZero() {
						revoked = d.RevokedAt.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\n", d.ID, d.Groups, d.NotAfter.UTC().Format(time.RFC3339), revoked, d.Fingerprint[:16])
				}
				return tw.Flush()
			})
		},
	}
}

func (a *app) auditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Print the audit log",
		Args:  cobra.NoArgs,
	}
	n := cmd.Flags().Int("last", 50, "how many entries")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return a.with(cmd.Context(), func(s *fleet.Server) error {
			log, err := s.Registry().AuditLog(cmd.Context(), *n)
			if err != nil {
				return err
			}
			for _, e := range log {
				fmt.Fprintf(a.stdout, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Who, e.Action, e.Subject, e.Result, e.Detail)
			}
			return nil
		})
	}
	return cmd
}

func (a *app) brokerCertCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "broker-cert",
		Short: "Write ca.crt, server.crt and server.key for the broker's TLS listener",
		Args:  cobra.NoArgs,
	}
	hosts := cmd.Flags().StringSlice("host", nil, "names (DNS or IP) of the broker (repeatable; required)")
	out := cmd.Flags().String("out", ".", "directory to write the files to")
	lifetime := fleet.Duration(365 * 24 * time.Hour)
	cmd.Flags().Var(&lifetime, "lifetime", "lifetime of the server certificate")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if len(*hosts) == 0 {
			return &cli.UsageError{Err: fmt.Errorf("broker-cert: --host is required")}
		}
		return a.with(cmd.Context(), func(s *fleet.Server) error {
			cert, key, err := s.CA().IssueServer(*hosts, time.Duration(lifetime), time.Now())
			if err != nil {
				return err
			}
			if err := os.MkdirAll(*out, 0o755); err != nil {
				return fmt.Errorf("broker-cert: %w", err)
			}
			for name, f := range map[string]struct {
				data []byte
				mode os.FileMode
			}{"ca.crt": {s.CA().CertPEM, 0o644}, "server.crt": {cert, 0o644}, "server.key": {key, 0o600}} {
				if err := os.WriteFile(filepath.Join(*out, name), f.data, f.mode); err != nil {
					return fmt.Errorf("broker-cert: %w", err)
				}
			}
			return s.Registry().Audit(cmd.Context(), operator(), "broker-cert", fmt.Sprint(*hosts), nil, "out="+*out)
		})
	}
	return cmd
}
