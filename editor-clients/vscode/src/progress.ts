// Work-done progress as a VS Code notification with a cancel button.
//
// vscode-languageclient's own progress support shows server progress in the status bar
// (ProgressLocation.Window), where VS Code offers no cancel button. This feature is registered
// after the built-in ones, so its `window/workDoneProgress/create` handler replaces theirs.
// Cancelling sends `window/workDoneProgress/cancel`; the server stops the run.
import * as vscode from "vscode";
import {
  type BaseLanguageClient,
  type ClientCapabilities,
  type FeatureState,
  type ProgressToken,
  type StaticFeature,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateRequest,
} from "vscode-languageclient/node";
import { ProgressState, type ProgressValue } from "./progressState";

class NotificationProgress implements vscode.Disposable {
  private readonly state = new ProgressState();
  private listener: vscode.Disposable | undefined;
  private progress: vscode.Progress<{ message?: string; increment?: number }> | undefined;
  private finish: (() => void) | undefined;
  private ended = false;

  constructor(
    private readonly client: BaseLanguageClient,
    private readonly token: ProgressToken,
    private readonly onEnd: (part: NotificationProgress, message: string | undefined) => void,
  ) {
    this.listener = client.onProgress(WorkDoneProgress.type, token, (value: ProgressValue) => {
      switch (value.kind) {
        case "begin":
          this.begin(value);
          break;
        case "report":
          this.progress?.report(this.state.update(value));
          break;
        case "end":
          this.end(value.message);
          break;
      }
    });
  }

  private begin(value: ProgressValue): void {
    const { title, cancellable, first } = this.state.begin(value);
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable },
      (progress, cancellation) => {
        if (this.ended) {
          return Promise.resolve();
        }
        this.progress = progress;
        progress.report(first);
        const onCancel = cancellation.onCancellationRequested(() => {
          void this.client.sendNotification(WorkDoneProgressCancelNotification.type, { token: this.token });
        });
        return new Promise<void>((resolve) => {
          this.finish = () => {
            onCancel.dispose();
            resolve();
          };
        });
      },
    );
  }

  private end(message: string | undefined): void {
    if (!this.ended) {
      this.dispose();
      this.onEnd(this, message);
    }
  }

  dispose(): void {
    this.ended = true;
    this.listener?.dispose();
    this.listener = undefined;
    this.finish?.();
    this.finish = undefined;
  }
}

export class NotificationProgressFeature implements StaticFeature {
  private readonly parts = new Set<NotificationProgress>();

  /** `log` receives each finished progress' end message (the output channel). */
  constructor(
    private readonly client: BaseLanguageClient,
    private readonly log: (line: string) => void,
  ) {}

  getState(): FeatureState {
    return { kind: "static" };
  }

  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.window = { ...capabilities.window, workDoneProgress: true };
  }

  initialize(): void {
    this.client.onRequest(WorkDoneProgressCreateRequest.type, (params) => {
      this.track(params.token);
    });
  }

  /** Shows the progress reported under `token` until it ends (or the client stops). */
  private track(token: ProgressToken): void {
    const part = new NotificationProgress(this.client, token, (done, message) => {
      this.parts.delete(done);
      if (message) {
        this.log(`[progress] ${message}`);
      }
    });
    this.parts.add(part);
  }

  clear(): void {
    for (const part of this.parts) {
      part.dispose();
    }
    this.parts.clear();
  }
}
