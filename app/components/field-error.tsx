import { Icon } from "./icons";

/** A form field's error, next to the field and named by its `aria-describedby`. */
export function FieldError({ id, children }: { id: string; children: React.ReactNode }) {
  return (
    <p
      id={id}
      data-field-error
      className="flex items-start gap-1 text-sm text-red-700 dark:text-red-400"
    >
      <Icon name="alert" className="mt-0.5 size-4" />
      <span>{children}</span>
    </p>
  );
}
