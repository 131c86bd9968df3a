// @ts-check
/**
 * TypeDoc plugin behind `docs:api:check`: `--requireDocs` warns for every exported declaration of
 * the public packages that has no TSDoc, and for every member of a named interface, class or enum.
 *
 * Why not TypeDoc's own `validation.notDocumented`: it expands the type of every zod schema
 * constant (`ZodEnum<{ critical: "critical"; … }>`, `ZodObject<{ … }>`) and of every `z.infer`
 * alias into anonymous type literals, then asks for a comment on each of their members, which no
 * source comment can reach (an enum value inside `z.enum([...])`). Here a member of an anonymous
 * type literal is covered by the comment of the declaration that owns it; everything else follows
 * TypeDoc's rules (the kinds in `requiredToBeDocumented`, the packages in
 * `packagesRequiringDocumentation`, nothing inside a parameter's type).
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { Application, DeclarationReflection, ParameterType, ReflectionKind, ReflectionType } from "typedoc";

/** @param {import("typedoc").Application} app */
export function load(app) {
  app.options.addDeclaration({
    name: "requireDocs",
    help: "Warn for undocumented exports and named members (members of anonymous types excepted).",
    type: ParameterType.Boolean,
    defaultValue: false,
  });
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    if (!app.options.getValue("requireDocs")) return;
    const packages = app.options.isSet("packagesRequiringDocumentation")
      ? app.options.getValue("packagesRequiringDocumentation")
      : [project.packageName ?? ""];
    let kinds = app.options
      .getValue("requiredToBeDocumented")
      .reduce((all, name) => all | ReflectionKind[name], 0);
    // Functions, methods and accessors carry their comments on their signatures.
    if (kinds & ReflectionKind.FunctionOrMethod) kinds |= ReflectionKind.CallSignature;
    if (kinds & ReflectionKind.Accessor) kinds |= ReflectionKind.GetSignature | ReflectionKind.SetSignature;
    if (kinds & ReflectionKind.Constructor) kinds |= ReflectionKind.ConstructorSignature;
    kinds &= ~(ReflectionKind.FunctionOrMethod | ReflectionKind.Accessor | ReflectionKind.Constructor);

    for (const ref of project.getReflectionsByKind(kinds)) {
      if (insideAnonymousTypeOrParameter(ref)) continue;
      if (ref instanceof DeclarationReflection) {
        const signatures =
          ref.type instanceof ReflectionType
            ? ref.type.declaration.getNonIndexSignatures()
            : ref.getNonIndexSignatures();
        // A function-valued variable or property is documented by its own comment or its signature's.
        if (signatures.length && signatures.some((s) => s.hasComment())) continue;
      }
      const documented =
        ref.hasComment() || (ref.kindOf(ReflectionKind.SomeSignature) && ref.parent?.hasComment() === true);
      if (documented) continue;
      const symbolId = project.getSymbolIdFromReflection(ref);
      if (!symbolId || !packages.includes(symbolId.packageName)) continue;
      app.logger.warn(
        `${ref.getFriendlyFullName()} (${ReflectionKind[ref.kind]}) at ${where(symbolId)} does not have any documentation`,
      );
    }
  });
}

/**
 * True when `ref` sits inside an anonymous type literal or a parameter's type below the
 * declaration that owns it (its comment covers it).
 * @param {import("typedoc").Reflection} ref
 */
function insideAnonymousTypeOrParameter(ref) {
  for (let r = ref.parent; r; r = r.parent) {
    if (r.kindOf(ReflectionKind.Parameter)) return true;
    // Includes the signature of a function-typed variable or property: that declaration is checked.
    if (r.kindOf(ReflectionKind.TypeLiteral)) return true;
  }
  return false;
}

/** @type {Map<string, string>} */
const sources = new Map();

/**
 * `path:line` of a declaration, relative to the working directory.
 * @param {import("typedoc").ReflectionSymbolId} id
 */
function where(id) {
  const file = id.fileName;
  if (file === undefined) return `${id.packageName}/${id.packagePath}`;
  if (!sources.has(file)) sources.set(file, readFileSync(file, "utf8"));
  const line = (sources.get(file) ?? "").slice(0, id.pos).split("\n").length;
  return `${relative(process.cwd(), file)}:${line}`;
}
