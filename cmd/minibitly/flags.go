package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// envName maps a flag name to its environment variable: http-addr →
// MINIBITLY_HTTP_ADDR.
func envName(flagName string) string {
	return "MINIBITLY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag not given on the command line from its
// environment variable, if set. Command-line flags win.
func applyEnv(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
		}
	})
	return err
}

// usage prints the flags with their environment variables.
func usage(fs *flag.FlagSet, w io.Writer, head string) func() {
	return func() {
		fmt.Fprint(w, head)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(w, "  --%s%s\n      %s\n      env %s\n", f.Name, def, f.Usage, envName(f.Name))
		})
	}
}

// durationFlag is a shorthand for fs.DurationVar.
func durationFlag(fs *flag.FlagSet, p *time.Duration, name string, def time.Duration, help string) {
	fs.DurationVar(p, name, def, help)
}

// parseInterspersed parses flags that may come before or after positional
// arguments (`keys revoke ID --data-dir X`) and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
