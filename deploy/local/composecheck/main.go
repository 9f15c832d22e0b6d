// composecheck loads a Compose project the way `docker compose config` does (compose-go, the
// library inside Docker Compose v2): schema validation against the Compose Specification,
// interpolation (a missing ${VAR:?message} is an error), merging of override files and
// profiles. It prints the resolved project as JSON, or the error and exits 1.
//
//	composecheck -f docker-compose.yml [-f compose.override.yml] [--env-file FILE]... [--profile P]...
//
// Built by deploy/local/tools.sh into .cache/tools/bin; used by tests/unit/test_compose.py,
// because no Docker engine (or compose binary) is needed for it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

type list []string

func (l *list) String() string     { return fmt.Sprint(*l) }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var files, envFiles, profiles list
	flag.Var(&files, "f", "compose file (repeatable)")
	flag.Var(&envFiles, "env-file", "env file (repeatable)")
	flag.Var(&profiles, "profile", "profile to enable (repeatable)")
	flag.Parse()
	opts, err := cli.NewProjectOptions(
		files,
		cli.WithName("newsflow"),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithOsEnv,
		cli.WithProfiles(profiles),
		cli.WithInterpolation(true),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := json.MarshalIndent(project, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
