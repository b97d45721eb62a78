/**
 * One option of a radio group drawn as a card: a label and a line saying what it means (named
 * by the input's `aria-describedby`). The new-project form's continuity and the re-shoot
 * dialog's scope use it.
 */
export function ChoiceCard<Value extends string>({
  name,
  value,
  checked,
  onChange,
  label,
  detail,
}: {
  name: string;
  value: Value;
  checked: boolean;
  onChange: (value: Value) => void;
  label: string;
  detail: string;
}) {
  const detailId = `${name}-${value}-detail`;
  return (
    <label className="flex cursor-pointer items-start gap-2 rounded-md border border-slate-300 p-3 text-sm has-[:checked]:border-sky-600 has-[:checked]:bg-sky-50 has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-sky-500 dark:border-slate-700 dark:has-[:checked]:border-sky-500 dark:has-[:checked]:bg-sky-950">
      <input
        type="radio"
        name={name}
        value={value}
        checked={checked}
        onChange={() => onChange(value)}
        aria-describedby={detailId}
        className="mt-0.5 accent-sky-700"
      />
      <span>
        <span className="block font-medium">{label}</span>
        <span id={detailId} className="block text-xs text-slate-600 dark:text-slate-300">
          {detail}
        </span>
      </span>
    </label>
  );
}
