import { Field, ID, InputType } from '@nestjs/graphql';
import { present } from '../common/input';
import { PromotionStatusEnum } from './registry.types';

type Values<E> = E[keyof E];

@InputType()
export class RegisterModelInput {
  @Field(() => ID)
  projectId!: string;

  @Field({ description: 'Unique within the project, whatever its case.' })
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

@InputType()
export class SignatureFieldInput {
  @Field()
  name!: string;

  @Field({ description: 'e.g. double, long, string, boolean, tensor<float32>[-1,3].' })
  type!: string;
}

@InputType({ description: 'What the model takes and gives: at least one input and one output, each name once.' })
export class ModelSignatureInput {
  @Field(() => [SignatureFieldInput])
  inputs!: SignatureFieldInput[];

  @Field(() => [SignatureFieldInput])
  outputs!: SignatureFieldInput[];
}

@InputType({ description: 'A field left out is empty; promotion needs every field filled.' })
export class ModelCardInput {
  @Field(() => String, { nullable: true })
  intendedUse?: string | null;

  @Field(() => String, { nullable: true })
  limitations?: string | null;

  @Field(() => String, { nullable: true })
  evaluationData?: string | null;

  @Field(() => String, { nullable: true })
  ethicalConsiderations?: string | null;

  @Field(() => String, { nullable: true })
  caveats?: string | null;
}

@InputType({ description: 'A version from a completed run of the model\'s project, serving the artifact the run logged under artifactName.' })
export class CreateModelVersionInput {
  @Field(() => ID)
  modelId!: string;

  @Field(() => ID)
  runId!: string;

  @Field()
  artifactName!: string;

  @Field(() => ModelSignatureInput)
  signature!: ModelSignatureInput;

  @Field(() => ModelCardInput, { nullable: true })
  modelCard?: ModelCardInput | null;
}

@InputType()
export class UpdateModelCardInput {
  @Field(() => ID)
  modelVersionId!: string;

  @Field(() => ModelCardInput)
  modelCard!: ModelCardInput;
}

@InputType({ description: 'Every gate is judged now and recorded with the request; a request with a failing gate is kept, but cannot be approved.' })
export class RequestPromotionInput {
  @Field(() => ID)
  modelVersionId!: string;

  @Field({ description: 'A lowercase identifier, e.g. champion, challenger, staging.' })
  alias!: string;

  @Field()
  justification!: string;
}

@InputType({ description: 'Approved by someone other than the requester, and only when every gate passed: the alias moves at once.' })
export class ApprovePromotionInput {
  @Field(() => ID)
  requestId!: string;

  @Field(() => String, { nullable: true })
  comment?: string | null;
}

@InputType()
export class RejectPromotionInput {
  @Field(() => ID)
  requestId!: string;

  @Field()
  reason!: string;
}

@InputType({ description: 'Refused while the version holds an alias: promote another version to it first.' })
export class ArchiveModelVersionInput {
  @Field(() => ID)
  modelVersionId!: string;

  @Field()
  reason!: string;
}

@InputType()
export class ModelFilter {
  @Field(() => ID, { nullable: true })
  projectId?: string | null;
}

@InputType()
export class PromotionRequestFilter {
  @Field(() => ID, { nullable: true })
  modelId?: string | null;

  @Field(() => ID, { nullable: true })
  modelVersionId?: string | null;

  @Field(() => PromotionStatusEnum, { nullable: true })
  status?: Values<typeof PromotionStatusEnum> | null;
}

/** A card input with the fields the client left out as absent (the contract fills them empty). */
export function toModelCard(input: ModelCardInput | null | undefined): Record<string, string> | undefined {
  if (!input) return undefined;
  return present(input) as Record<string, string>;
}
