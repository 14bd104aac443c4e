// The extension's settings as the server's options. Only what the user set explicitly is sent:
// a value left at its default must not override the project's preflight.toml or
// [tool.preflight] (the server lays editor options over the project's configuration).

import * as vscode from 'vscode';

/** The server options the `preflight.*` settings map to (the server's names). */
export const SERVER_OPTIONS = ['select', 'ignore', 'severity', 'fixOnSave', 'unsafeFixes'] as const;

export type ServerOptions = Partial<Record<(typeof SERVER_OPTIONS)[number], unknown>>;

function explicitValue<T>(config: vscode.WorkspaceConfiguration, key: string): T | undefined {
  const inspected = config.inspect<T>(key);
  if (inspected === undefined) {
    return undefined;
  }
  // The most specific level that has a value, as VS Code itself resolves it.
  for (const value of [
    inspected.workspaceFolderLanguageValue,
    inspected.workspaceLanguageValue,
    inspected.globalLanguageValue,
    inspected.workspaceFolderValue,
    inspected.workspaceValue,
    inspected.globalValue,
  ]) {
    if (value !== undefined) {
      return value;
    }
  }
  return undefined;
}

export function settingsForServer(): ServerOptions {
  const config = vscode.workspace.getConfiguration('preflight');
  const options: ServerOptions = {};
  for (const key of SERVER_OPTIONS) {
    const value = explicitValue<unknown>(config, key);
    // `null` is the settings UI's "use the project's value".
    if (value !== undefined && value !== null) {
      options[key] = value;
    }
  }
  return options;
}

export function configuredPath(): string {
  return vscode.workspace.getConfiguration('preflight').get<string>('path') ?? '';
}
