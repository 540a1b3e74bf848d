// Hydra Translate: replaces each selection (or the whole document when
// nothing is selected) by its translation from the hydra daemon.
'use strict';
const vscode = require('vscode');
const { translate } = require('./client');

function activate(context) {
  context.subscriptions.push(vscode.commands.registerCommand('hydra.translateSelection', async () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return;
    const cfg = vscode.workspace.getConfiguration('hydra');
    const doc = editor.document;
    const ranges = editor.selections.filter((s) => !s.isEmpty);
    if (ranges.length === 0) ranges.push(new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)));
    try {
      const outputs = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Hydra: translating…' },
        () => Promise.all(ranges.map((r) => translate({
          text: doc.getText(r), from: cfg.get('from'), to: cfg.get('to'),
          model: cfg.get('model'), socket: cfg.get('socket'),
        }))));
      await editor.edit((edit) => ranges.forEach((r, i) => edit.replace(r, outputs[i])));
    } catch (e) {
      vscode.window.showErrorMessage(`Hydra: ${e.message}`);
    }
  }));
}

function deactivate() {}

module.exports = { activate, deactivate };
