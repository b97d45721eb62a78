import { BAR_CLASSES } from "./status";

/** A labelled progress bar; `valueText` is what a screen reader says ("2 of 3 scenes done"). */
export function ProgressBar({
  value,
  label,
  valueText,
  tone = "info",
  size = "md",
}: {
  value: number;
  label: string;
  valueText: string;
  tone?: keyof typeof BAR_CLASSES;
  size?: "sm" | "md";
}) {
  const percent = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
      aria-valuetext={valueText}
      className={`w-full overflow-hidden rounded-full bg-slate-200 dark:bg-slate-800 ${size === "sm" ? "h-1.5" : "h-2.5"}`}
    >
      <div
        className={`h-full rounded-full transition-[width] duration-500 ease-out ${BAR_CLASSES[tone]}`}
        style={{ width: `${percent}%` }}
      />
    </div>
  );
}
