// The documents the server analyses. VS Code's language ids alone do not find them: `.env` files
// arrive as `properties`, `shellscript`, `dotenv` or `plaintext` depending on the installed
// extensions, compose files as `dockercompose` or plain `yaml`, requirements as `pip-requirements`
// or `plaintext`. So documents are selected by language id *and* by file name; the server then
// decides a document's kind from its path first (syntax/mod.rs, `FileKind::from_path`), so a
// name matched here is always read as what it is.

import type { DocumentFilter } from 'vscode-languageclient';

/** File-name patterns, mirroring the server's `FileKind::from_path`. */
export const FILE_PATTERNS = [
  // Env files: `.env`, `.env.production`, `prod.env`.
  '**/{.env,.env.*,*.env}',
  // Compose: `compose.yaml`, `docker-compose.prod.yml`, ...
  '**/{compose,docker-compose}*.{yml,yaml}',
  // Dockerfiles.
  '**/{Dockerfile,dockerfile,Containerfile,containerfile}',
  '**/{Dockerfile,dockerfile,Containerfile}.*',
  '**/{Dockerfile,dockerfile}{-,_}*',
  '**/*.{Dockerfile,dockerfile}',
  // Shell entrypoints and scripts.
  '**/*.{sh,bash}',
  '**/docker-entrypoint*',
  // Dependencies and process definitions.
  '**/{requirements*,*requirements}.txt',
  '**/requirements/*.txt',
  '**/pyproject.toml',
  '**/{Procfile,Procfile.*}',
  // Read by the project model (what the image build sees, what git ignores), not checked.
  '**/{.dockerignore,*.dockerignore,.gitignore}',
];

/** Language ids that mean an analysable document whatever its name (untitled buffers included). */
export const LANGUAGE_IDS = [
  'python',
  'dockerfile',
  'dockercompose',
  'shellscript',
  'pip-requirements',
  'dotenv',
];

export function documentSelector(): DocumentFilter[] {
  const selector: DocumentFilter[] = [];
  for (const scheme of ['file', 'untitled']) {
    for (const language of LANGUAGE_IDS) {
      selector.push({ scheme, language });
    }
  }
  for (const pattern of FILE_PATTERNS) {
    selector.push({ scheme: 'file', pattern });
  }
  return selector;
}
