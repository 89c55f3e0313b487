/* mlaudit: the command line client of the mlaudit ledger. Global flags may
 * come before or after the command; the dispatch table below is the list of
 * commands `mlaudit --help` prints. Every command verifies what the server
 * says (signed checkpoints, proofs, consistency with what it saw before). */
#include <string.h>

#include "cli.h"

static const cli_cmd *const commands[] = {
    &cli_cmd_keygen,
    &cli_cmd_key,
    &cli_cmd_record,
    &cli_cmd_digest,
    &cli_cmd_get,
    &cli_cmd_log,
    &cli_cmd_checkpoint,
    &cli_cmd_prove,
    &cli_cmd_verify,
    &cli_cmd_export,
    &cli_cmd_audit,
    /* ML semantics (SPEC §4, §6) */
    &cli_cmd_query,
    &cli_cmd_history,
    &cli_cmd_diff,
    &cli_cmd_lineage,
    &cli_cmd_which_model,
    &cli_cmd_prove_decision,
    &cli_cmd_verify_decision,
    &cli_cmd_record_decisions,
    &cli_cmd_watch,
    &cli_cmd_rollback,
    /* reports (SPEC §7) */
    &cli_cmd_report,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void top_help(FILE *f)
{
    fprintf(f, "Usage: mlaudit [global flags] COMMAND [flags]\n\n"
               "The command line client of the mlaudit ledger: record signed changes to models,\n"
               "data, code, configs, deployments; read and prove them; verify offline.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-16s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nGlobal flags:\n");
    for (const cli_flag *fl = cli_global_flags; fl->name; fl++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", fl->name, fl->arg ? " " : "",
                 fl->arg ? fl->arg : "");
        fprintf(f, "  %-22s %s\n", left, fl->help);
    }
    fprintf(f, "\nExit codes: 0 ok; 1 verification failed or the answer is \"no\" (e.g. a fork);\n"
               "2 usage error; 3 refused by the server; 4 cannot reach the server or I/O error.\n"
               "\nRun `mlaudit COMMAND --help` for a command's flags.\n");
}

static const cli_cmd *command_find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i]->name, name)) return commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    static cli_ctx ctx; /* large; zero-initialised */
    ctx.server = getenv("MLAUDIT_SERVER");
    const char *ins = getenv("MLAUDIT_INSECURE");
    ctx.insecure = ins && (!strcmp(ins, "1") || !strcmp(ins, "true") || !strcmp(ins, "yes"));
    ctx.log_key_arg = getenv("MLAUDIT_LOG_KEY");

    /* Global flags before the command. */
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        const char *a = argv[i];
        const char *name = a[1] == '-' ? a + 2 : a + 1;
        const char *eq = strchr(name, '=');
        char buf[64];
        if (eq) {
            size_t n = (size_t)(eq - name);
            if (n >= sizeof buf) n = sizeof buf - 1;
            memcpy(buf, name, n);
            buf[n] = '\0';
            name = buf;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        bool used;
        if (!cli_global_apply(&ctx, name, val, &used)) {
            fprintf(stderr, "mlaudit: %s: unknown global flag (see: mlaudit --help)\n", a);
            return CLI_EXIT_USAGE;
        }
        if (used && !val) {
            fprintf(stderr, "mlaudit: %s: needs a value\n", a);
            return CLI_EXIT_USAGE;
        }
        if (ctx.timeout_ms < 0) {
            fprintf(stderr, "mlaudit: --timeout-ms: want 1..3600000\n");
            return CLI_EXIT_USAGE;
        }
        if (used && !eq) i++;
    }
    if (i >= argc) {
        top_help(ctx.help ? stdout : stderr);
        return ctx.help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    const char *name = argv[i];
    if (!strcmp(name, "help")) {
        const cli_cmd *c = i + 1 < argc ? command_find(argv[i + 1]) : NULL;
        if (c)
            cli_help(c, stdout);
        else
            top_help(stdout);
        return CLI_EXIT_OK;
    }
    const cli_cmd *cmd = command_find(name);
    if (!cmd) {
        fprintf(stderr, "mlaudit: %s: unknown command (see: mlaudit --help)\n", name);
        return CLI_EXIT_USAGE;
    }
    int code = cli_parse_args(&ctx, cmd, argc - i - 1, argv + i + 1);
    if (code != CLI_EXIT_OK) return code;
    if (ctx.help) {
        cli_help(cmd, stdout);
        return CLI_EXIT_OK;
    }
    code = cmd->run(&ctx);
    fflush(stdout);
    return code;
}
