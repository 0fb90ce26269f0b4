// LSP work-done progress ($/progress begin/report/end) turned into what a VS Code progress
// notification takes: a title once, then messages and percentage *increments*.
// Pure: no `vscode` import, so node's test runner covers it.

export interface ProgressValue {
  kind: "begin" | "report" | "end";
  title?: string;
  message?: string;
  percentage?: number;
  cancellable?: boolean;
}

export interface ProgressUpdate {
  message?: string;
  increment?: number;
}

export class ProgressState {
  private reported = 0;

  /** The notification's title and whether it gets a cancel button. */
  begin(value: ProgressValue): { title: string; cancellable: boolean; first: ProgressUpdate } {
    return {
      title: value.title ?? "o1-coder",
      cancellable: value.cancellable === true,
      first: this.update(value),
    };
  }

  /** What to pass to `progress.report`: VS Code wants the increment since the last report. */
  update(value: ProgressValue): ProgressUpdate {
    const out: ProgressUpdate = {};
    if (typeof value.message === "string") {
      out.message = value.message;
    }
    if (typeof value.percentage === "number" && Number.isFinite(value.percentage)) {
      const percentage = Math.max(0, Math.min(100, value.percentage));
      const increment = Math.max(0, percentage - this.reported);
      this.reported += increment;
      out.increment = increment;
    }
    return out;
  }
}
