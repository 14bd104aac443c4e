// The Preflight extension: starts `preflight server` for the workspace and connects it to VS
// Code through vscode-languageclient. Diagnostics, quick fixes, fix-all on save
// (`source.fixAll.preflight`) and hovers come from the server; this file finds the binary, maps
// the settings, and adds the commands and the status bar item.

import * as vscode from 'vscode';
import {
  CodeAction,
  CodeActionKind,
  CodeActionRequest,
  CodeActionTriggerKind,
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';

import { documentSelector } from './documents';
import { FoundServer, ServerProblem, findServer } from './server';
import { configuredPath, settingsForServer } from './settings';

const FIX_ALL_KIND = 'source.fixAll.preflight';

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let status: vscode.StatusBarItem;
let starting: Promise<void> | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('Preflight');
  status = vscode.window.createStatusBarItem('preflight.status', vscode.StatusBarAlignment.Right, 100);
  status.name = 'Preflight';
  status.command = 'preflight.showOutput';
  context.subscriptions.push(output, status);

  context.subscriptions.push(
    vscode.commands.registerCommand('preflight.fixAll', fixAll),
    vscode.commands.registerCommand('preflight.restart', () => restart(context)),
    vscode.commands.registerCommand('preflight.showOutput', () => output.show(true)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('preflight.path')) {
        void restart(context);
      } else if (event.affectsConfiguration('preflight')) {
        sendSettings();
      }
    }),
    // The server reads the workspace folders when it starts: a folder added or removed later
    // needs a new project model.
    vscode.workspace.onDidChangeWorkspaceFolders(() => void restart(context)),
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  await stop();
}

function log(line: string): void {
  output.appendLine(`[${new Date().toISOString()}] ${line}`);
}

function showStatus(text: string, tooltip: string, problem = false): void {
  status.text = text;
  status.tooltip = tooltip;
  status.backgroundColor = problem ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  status.show();
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  if (starting) {
    return starting;
  }
  starting = (async () => {
    showStatus('$(loading~spin) Preflight', 'Preflight: starting the server');
    let server: FoundServer;
    try {
      server = await findServer(configuredPath(), context.extensionPath, log);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      log(message);
      showStatus('$(error) Preflight', message, true);
      const opensSettings = e instanceof ServerProblem && e.opensSettings;
      const actions = opensSettings ? ['Open Settings', 'Show Output'] : ['Show Output'];
      void vscode.window.showErrorMessage(message, ...actions).then((picked) => {
        if (picked === 'Open Settings') {
          void vscode.commands.executeCommand('workbench.action.openSettings', 'preflight.path');
        } else if (picked === 'Show Output') {
          output.show(true);
        }
      });
      return;
    }
    const run = { command: server.command, args: ['server'] };
    // No `transport` on purpose: with TransportKind.stdio the client appends `--stdio` to the
    // arguments; plain stdio leaves them as they are.
    const serverOptions: ServerOptions = { run, debug: run };
    const clientOptions: LanguageClientOptions = {
      documentSelector: documentSelector(),
      initializationOptions: settingsForServer(),
      outputChannel: output,
      traceOutputChannel: output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
    };
    const next = new LanguageClient('preflight', 'Preflight', serverOptions, clientOptions);
    next.onDidChangeState((event) => {
      if (event.newState === State.Running) {
        showStatus('$(check) Preflight', `Preflight ${server.version}: ${server.command}`);
      } else if (event.newState === State.Stopped) {
        showStatus('$(circle-slash) Preflight', 'Preflight: the server stopped (Preflight: Restart server starts it again)', true);
      }
    });
    client = next;
    try {
      await next.start();
      log(`server started: ${server.command} server (${server.version}, ${server.source})`);
    } catch (e) {
      const message = `Preflight: the server did not start: ${e instanceof Error ? e.message : String(e)}`;
      log(message);
      showStatus('$(error) Preflight', message, true);
      void vscode.window.showErrorMessage(message, 'Show Output').then((picked) => {
        if (picked) {
          output.show(true);
        }
      });
    }
  })();
  try {
    await starting;
  } finally {
    starting = undefined;
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    try {
      await running.stop();
    } catch (e) {
      log(`stopping the server: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

async function restart(context: vscode.ExtensionContext): Promise<void> {
  if (starting) {
    await starting;
  }
  log('restarting the server');
  await stop();
  await start(context);
}

function sendSettings(): void {
  if (!client || !client.isRunning()) {
    return;
  }
  const settings = settingsForServer();
  log(`settings changed: ${JSON.stringify(settings)}`);
  void client.sendNotification(DidChangeConfigurationNotification.type, { settings });
}

/** "Preflight: Fix all": the server's fix-all for the active document, applied as one edit. */
async function fixAll(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('Preflight: open a file to fix.');
    return;
  }
  if (!client || !client.isRunning()) {
    void vscode.window.showWarningMessage('Preflight: the server is not running.', 'Show Output').then((picked) => {
      if (picked) {
        output.show(true);
      }
    });
    return;
  }
  const document = editor.document;
  const lastLine = document.lineAt(document.lineCount - 1);
  const actions = await client.sendRequest(CodeActionRequest.type, {
    textDocument: { uri: client.code2ProtocolConverter.asUri(document.uri) },
    range: client.code2ProtocolConverter.asRange(new vscode.Range(new vscode.Position(0, 0), lastLine.range.end)),
    // Invoked: the user asked, so the server answers even when fix-on-save is off.
    context: { diagnostics: [], only: [FIX_ALL_KIND], triggerKind: CodeActionTriggerKind.Invoked },
  });
  const fix = (actions ?? []).find(
    (a): a is CodeAction => CodeAction.is(a) && a.kind !== undefined && a.kind.startsWith(CodeActionKind.SourceFixAll),
  );
  if (!fix?.edit) {
    void vscode.window.showInformationMessage('Preflight: nothing to fix automatically in this file.');
    return;
  }
  const edit = await client.protocol2CodeConverter.asWorkspaceEdit(fix.edit);
  if (!(await vscode.workspace.applyEdit(edit))) {
    void vscode.window.showWarningMessage('Preflight: the fixes could not be applied (the file changed meanwhile?).');
  }
}
